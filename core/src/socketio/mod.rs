//! Socket.IO v5: packets and binary attachments.
pub mod binary;
pub mod packet;
