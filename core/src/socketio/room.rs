//! Rooms: named groups of sockets within a namespace, and the namespaces' own member lists,
//! for targeted broadcasts.
//!
//! Why ordered maps: recipients come out in a stable order, so the same inputs give the same
//! outputs (DESIGN §2 rule 7).

use std::collections::{BTreeMap, BTreeSet};

use crate::io::SocketId;

/// Namespace and room membership.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    by_nsp: BTreeMap<String, BTreeMap<String, BTreeSet<SocketId>>>,
    sockets: BTreeMap<String, BTreeSet<SocketId>>,
}

impl Rooms {
    /// Adds a socket to the member list of `nsp` (it connected).
    pub fn add_socket(&mut self, nsp: &str, socket: SocketId) {
        self.sockets
            .entry(nsp.to_owned())
            .or_default()
            .insert(socket);
    }

    /// Removes a socket from `nsp` and from each of `rooms` there (it disconnected).
    pub fn remove_socket<'a>(
        &mut self,
        nsp: &str,
        rooms: impl IntoIterator<Item = &'a String>,
        socket: SocketId,
    ) {
        for room in rooms {
            self.leave(nsp, room, socket);
        }
        if let Some(members) = self.sockets.get_mut(nsp) {
            members.remove(&socket);
            if members.is_empty() {
                self.sockets.remove(nsp);
            }
        }
    }

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

    /// The sockets of `nsp` in any of `rooms` (every socket of `nsp` when `rooms` is empty)
    /// and in none of `except`.
    #[must_use]
    pub fn members(&self, nsp: &str, rooms: &[String], except: &[String]) -> BTreeSet<SocketId> {
        let mut chosen = if rooms.is_empty() {
            self.sockets.get(nsp).cloned().unwrap_or_default()
        } else {
            let mut chosen = BTreeSet::new();
            for members in rooms
                .iter()
                .filter_map(|room| self.by_nsp.get(nsp)?.get(room))
            {
                chosen.extend(members.iter().copied());
            }
            chosen
        };
        let Some(by_room) = self.by_nsp.get(nsp) else {
            return chosen;
        };
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
    fn no_rooms_means_every_socket_of_the_namespace() {
        let mut r = Rooms::default();
        r.add_socket("/", SocketId(1));
        r.add_socket("/", SocketId(2));
        r.add_socket("/admin", SocketId(3));
        r.join("/", "muted", SocketId(2));
        let got = r.members("/", &[], &rooms(&["muted"]));
        assert_eq!(got.into_iter().collect::<Vec<_>>(), vec![SocketId(1)]);
        r.remove_socket("/", &rooms(&["muted"]), SocketId(2));
        assert_eq!(r.members("/", &[], &[]).len(), 1);
        assert_eq!(r.size("/", "muted"), 0);
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
