//! The duplicate window: ids of the most recent accepted events.
//!
//! Why a window and not every id ever: hook processes retry and spools re-drain within
//! seconds or minutes, so a bounded window of recent ids catches real duplicates while
//! memory stays fixed however long the relay runs.

use std::collections::{HashSet, VecDeque};

/// The last `capacity` accepted ids, oldest forgotten first.
#[derive(Debug)]
pub struct DedupWindow {
    capacity: usize,
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl DedupWindow {
    /// A window remembering `capacity` ids (0 remembers none: nothing is a duplicate).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `id`; `false` if it is already in the window (a duplicate).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.capacity == 0 {
            return true;
        }
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }

    /// Whether `id` is in the window.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Ids remembered now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_seen_in_the_window_is_a_duplicate() {
        let mut window = DedupWindow::new(3);
        assert!(window.insert("a"));
        assert!(!window.insert("a"));
        assert!(window.insert("b"));
        assert!(!window.insert("a"));
    }

    #[test]
    fn the_oldest_id_leaves_when_the_window_is_full() {
        let mut window = DedupWindow::new(2);
        for id in ["a", "b", "c"] {
            assert!(window.insert(id));
        }
        assert_eq!(window.len(), 2);
        assert!(window.insert("a"), "a was forgotten");
        assert!(!window.insert("c"));
    }

    #[test]
    fn a_zero_window_remembers_nothing() {
        let mut window = DedupWindow::new(0);
        assert!(window.insert("a"));
        assert!(window.insert("a"));
        assert!(window.is_empty());
    }
}
