//! Socket.IO v5: packets, binary attachments, awaited acks and rooms.
pub mod ack;
pub mod binary;
pub mod packet;
pub mod room;

pub use binary::{check_placeholders, Progress, Reassembly};
pub use packet::{event_data, split_event, DecodeError, Limits, Packet, PacketKind};
