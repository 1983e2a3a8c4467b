//! The scenario harness: each protocol behaviour is written once, as a scenario against the
//! [`Target`] trait, and run against the in-process simulator (virtual time) and against the
//! real `iorelay` (smol) and `iorelay-std` binaries over loopback.
//!
//! Why one harness: a behaviour that holds in the simulator but not over a real socket (or in
//! one runtime but not the other) is exactly the bug the runtimes must not have.

/// `(name, function)` pairs for a list of functions of type `$ty`, each named after itself.
macro_rules! named {
    ($ty:ty; $($name:ident),* $(,)?) => {
        vec![$((stringify!($name), $name as $ty)),*]
    };
}

pub mod faults;
pub mod net;
pub mod process;
pub mod raw;
pub mod relay_scenarios;
pub mod runtime_scenarios;
pub mod scenarios;
pub mod sim;
pub mod target;

pub use target::{HttpId, HttpReply, KeepAliveId, Msg, Target, WsEvent, WsId};
