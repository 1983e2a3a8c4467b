//! Rooms: named groups of sockets within a namespace, for targeted broadcasts.
//!
//! Why ordered maps: recipients come out in a stable order, so the same inputs give the same
//! outputs (DESIGN §2 rule 7).

use std::collections::{BTreeMap, BTreeSet};

use crate::io::SocketId;

/// Room membership for every namespace.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    by_nsp: BTreeMap<String, BTreeMap<String, BTreeSet<SocketId>>>,
}

impl Rooms {
    /// Puts `socket` in `room` of `nsp`; true if it was not there.
    pub fn join(&mut self, nsp: &str, room: &str, socket: SocketId) -> bool {
        self.by_nsp
            .entry(nsp.to_owned())
            .or_default()
            .entry(room.to_owned())
            .or_default()
            .insert(socket)
    }

    /// Takes `socket` out of `room` of `nsp`; true if it was there. Empty rooms disappear.
    pub fn leave(&mut self, nsp: &str, room: &str, socket: SocketId) -> bool {
        let Some(rooms) = self.by_nsp.get_mut(nsp) else {
            return false;
        };
        let Some(members) = rooms.get_mut(room) else {
            return false;
        };
        let removed = members.remove(&socket);
        if members.is_empty() {
            rooms.remove(room);
            if rooms.is_empty() {
                self.by_nsp.remove(nsp);
            }
        }
        removed
    }

    /// The sockets of `nsp` in any of `rooms` and in none of `except`.
    #[must_use]
    pub fn members(&self, nsp: &str, rooms: &[String], except: &[String]) -> BTreeSet<SocketId> {
        let Some(by_room) = self.by_nsp.get(nsp) else {
            return BTreeSet::new();
        };
        let mut chosen = BTreeSet::new();
        for room in rooms {
            if let Some(members) = by_room.get(room) {
                chosen.extend(members.iter().copied());
            }
        }
        for room in except {
            if let Some(members) = by_room.get(room) {
                for socket in members {
                    chosen.remove(socket);
                }
            }
        }
        chosen
    }

    /// Number of sockets in `room` of `nsp`.
    #[must_use]
    pub fn size(&self, nsp: &str, room: &str) -> usize {
        self.by_nsp
            .get(nsp)
            .and_then(|rooms| rooms.get(room))
            .map_or(0, BTreeSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn members_are_the_union_of_rooms_minus_exceptions() {
        let mut r = Rooms::default();
        r.join("/", "a", SocketId(1));
        r.join("/", "a", SocketId(2));
        r.join("/", "b", SocketId(3));
        r.join("/", "muted", SocketId(2));
        let got = r.members("/", &rooms(&["a", "b"]), &rooms(&["muted"]));
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![SocketId(1), SocketId(3)]
        );
    }

    #[test]
    fn rooms_are_per_namespace() {
        let mut r = Rooms::default();
        r.join("/", "a", SocketId(1));
        r.join("/admin", "a", SocketId(2));
        assert_eq!(r.members("/admin", &rooms(&["a"]), &[]).len(), 1);
        assert_eq!(r.size("/", "a"), 1);
    }

    #[test]
    fn leaving_the_last_member_removes_the_room() {
        let mut r = Rooms::default();
        assert!(r.join("/", "a", SocketId(1)));
        assert!(!r.join("/", "a", SocketId(1)));
        assert!(r.leave("/", "a", SocketId(1)));
        assert!(!r.leave("/", "a", SocketId(1)));
        assert_eq!(r.size("/", "a"), 0);
        assert!(r.by_nsp.is_empty());
    }
}
