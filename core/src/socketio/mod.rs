//! Socket.IO v5: packets, event data, binary attachments, awaited acks and rooms.
pub mod ack;
pub mod binary;
pub mod event;
pub(crate) mod json;
pub mod namespace;
pub mod packet;
pub mod recovery;
pub mod room;

pub use binary::{check_placeholders, Progress, Reassembly};
pub use event::{event_data, split_event};
pub use packet::{DecodeError, Limits, Packet, PacketKind};
