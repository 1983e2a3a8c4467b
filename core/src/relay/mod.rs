//! The relay: the product on top of the protocol engine. Hook processes POST events; the
//! relay normalises, de-duplicates, numbers, routes, remembers and delivers them.

pub mod breaker;
pub mod config;
pub mod event;
pub mod fit;
