//! A namespace's name as the engine and the relay keep it for each socket.

use std::borrow::Cow;

/// The root namespace's name.
const ROOT: &str = "/";

/// `name` as a socket keeps it: the root namespace (almost every socket's) as the one static
/// string, any other as its own copy.
///
/// Why: a broadcast compares each recipient's namespace with its own, in the relay and again
/// in the engine. With a `String` per socket each comparison read a separate allocation, a
/// cache miss per recipient (`memcmp` was 4 % of iorelay's CPU at max rate to 1000 clients);
/// every root socket now points at the same bytes, which stay in cache.
#[must_use]
pub fn kept(name: &str) -> Cow<'static, str> {
    if name == ROOT {
        Cow::Borrowed(ROOT)
    } else {
        Cow::Owned(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_root_socket_shares_one_name_and_others_keep_a_copy() {
        let (a, b) = (kept("/"), kept("/"));
        assert!(matches!(a, Cow::Borrowed(_)));
        assert_eq!(a.as_ptr(), b.as_ptr(), "one static string for the root");
        let admin = kept("/admin");
        assert!(matches!(admin, Cow::Owned(_)));
        assert_eq!(admin, "/admin");
    }
}
