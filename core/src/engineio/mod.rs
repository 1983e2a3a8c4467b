//! Engine.IO v4: packets, the polling payload, the handshake.
pub mod handshake;
pub mod packet;
pub mod payload;
