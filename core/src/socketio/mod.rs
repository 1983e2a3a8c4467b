//! Socket.IO v5: packets and binary attachments.
pub mod binary;
pub mod packet;

pub use binary::{check_placeholders, Progress, Reassembly};
pub use packet::{event_data, split_event, DecodeError, Limits, Packet, PacketKind};
