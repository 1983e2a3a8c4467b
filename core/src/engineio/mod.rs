//! Engine.IO v4: packets, the polling payload, the handshake, and the per-session machines
//! (heartbeat, transport and upgrade).
pub mod handshake;
pub mod heartbeat;
pub mod packet;
pub mod payload;
pub mod session;
