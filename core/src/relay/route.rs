//! Routing: the one event name an event has on `/` under a profile, and which typed
//! namespaces it goes to, with each namespace's buffer.
//!
//! Why buffers live here: "buffer if no clients" and "always buffer" (seed 004) decide
//! what a client connecting to a typed namespace is sent first, which is routing state.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::config::{BufferPolicy, Profile, Route, TypedNamespace};
use super::event::RelayEvent;

/// The name `event` is delivered under on `/` with `profile`.
#[must_use]
pub fn default_name(profile: Profile, event: &RelayEvent) -> &'static str {
    match profile {
        Profile::Default => "claude_event",
        Profile::ClaudeMpm => mpm_category(event),
    }
}

/// The claude-mpm dashboard's category for an event.
fn mpm_category(event: &RelayEvent) -> &'static str {
    match (event.kind.as_str(), event.subtype.as_str()) {
        (_, "pre_tool_use" | "post_tool_use" | "post_tool_use_failure" | "permission_request") => {
            if event.tool_name.as_deref().is_some_and(is_file_tool) {
                "file_event"
            } else {
                "tool_event"
            }
        }
        (_, "subagent_start" | "subagent_stop") => "agent_event",
        (_, "session_start" | "session_end" | "stop" | "user_prompt_submit") => "session_event",
        ("response", _) | (_, "response") => "response_event",
        ("system", _) | (_, "notification" | "pre_compact" | "connection_status") => "system_event",
        ("hook", _) => "hook_event",
        _ => "claude_event",
    }
}

fn is_file_tool(tool: &str) -> bool {
    matches!(
        tool,
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "Read"
    )
}

/// The typed namespaces, their routes and their buffers.
#[derive(Debug)]
pub struct TypedRouter {
    routes: Vec<Route>,
    namespaces: BTreeMap<String, TypedBuffer>,
}

#[derive(Debug)]
struct TypedBuffer {
    policy: BufferPolicy,
    capacity: usize,
    events: VecDeque<(Arc<RelayEvent>, String)>,
}

/// What to do with an event on one typed namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The namespace.
    pub nsp: String,
    /// The event name there.
    pub name: String,
}

impl TypedRouter {
    /// A router for `routes` over `namespaces` (routes to namespaces not listed are ignored).
    #[must_use]
    pub fn new(routes: &[Route], namespaces: &[TypedNamespace]) -> Self {
        let namespaces = namespaces
            .iter()
            .map(|n| {
                let buffer = TypedBuffer {
                    policy: n.policy,
                    capacity: n.buffer,
                    events: VecDeque::new(),
                };
                (n.nsp.clone(), buffer)
            })
            .collect();
        Self {
            routes: routes.to_vec(),
            namespaces,
        }
    }

    /// The typed namespaces, in order.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// Where `event` goes: one delivery per matching route, in table order.
    #[must_use]
    pub fn deliveries(&self, event: &RelayEvent) -> Vec<Delivery> {
        self.routes
            .iter()
            .filter(|route| self.namespaces.contains_key(&route.nsp))
            .filter(|route| {
                route
                    .subtypes
                    .iter()
                    .any(|s| s == "*" || *s == event.subtype)
                    && (route.tools.is_empty()
                        || event
                            .tool_name
                            .as_ref()
                            .is_some_and(|t| route.tools.contains(t)))
            })
            .map(|route| Delivery {
                nsp: route.nsp.clone(),
                name: route.event.clone(),
            })
            .collect()
    }

    /// Applies the namespace's policy to an event about to go to `clients` sockets there;
    /// returns whether to send it now (`false`: it was buffered or dropped).
    pub fn on_event(
        &mut self,
        delivery: &Delivery,
        event: &Arc<RelayEvent>,
        clients: usize,
    ) -> Outcome {
        let Some(buffer) = self.namespaces.get_mut(&delivery.nsp) else {
            return Outcome::Dropped;
        };
        let keep = match buffer.policy {
            BufferPolicy::BufferIfNoClients => clients == 0,
            BufferPolicy::AlwaysBuffer => true,
            BufferPolicy::DropIfNoClients | BufferPolicy::AlwaysSend => false,
        };
        if keep && buffer.capacity > 0 {
            if buffer.events.len() == buffer.capacity {
                buffer.events.pop_front();
            }
            buffer
                .events
                .push_back((Arc::clone(event), delivery.name.clone()));
        }
        match (clients, keep) {
            (0, true) => Outcome::Buffered,
            (0, false) => Outcome::Dropped,
            _ => Outcome::Send,
        }
    }

    /// What a client newly connected to `nsp` is sent first: the buffered events it `wants`
    /// (its filter). Under "buffer if no clients" those leave the buffer — events it does
    /// not want stay for a later client; under "always buffer" everything stays.
    pub fn on_connect(
        &mut self,
        nsp: &str,
        wants: impl Fn(&RelayEvent) -> bool,
    ) -> Vec<(Arc<RelayEvent>, String)> {
        let Some(buffer) = self.namespaces.get_mut(nsp) else {
            return Vec::new();
        };
        match buffer.policy {
            BufferPolicy::BufferIfNoClients => {
                let (sent, kept) = buffer.events.drain(..).partition(|(e, _)| wants(e));
                buffer.events = kept;
                sent.into()
            }
            BufferPolicy::AlwaysBuffer => buffer
                .events
                .iter()
                .filter(|(e, _)| wants(e))
                .cloned()
                .collect(),
            BufferPolicy::DropIfNoClients | BufferPolicy::AlwaysSend => Vec::new(),
        }
    }

    /// Events buffered on `nsp` now.
    #[must_use]
    pub fn buffered(&self, nsp: &str) -> usize {
        self.namespaces.get(nsp).map_or(0, |b| b.events.len())
    }
}

/// What happened to an event on a typed namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Send it to the namespace's clients (it may also have been buffered).
    Send,
    /// No clients: kept for the next one.
    Buffered,
    /// No clients and the policy keeps nothing.
    Dropped,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::config::RelayConfig;
    use bytes::Bytes;

    fn event(subtype: &str, tool: Option<&str>) -> Arc<RelayEvent> {
        Arc::new(RelayEvent {
            offset: 1,
            id: "e".to_owned(),
            received_at_ms: 0,
            kind: "hook".to_owned(),
            subtype: subtype.to_owned(),
            session_id: None,
            project: None,
            tool_name: tool.map(str::to_owned),
            json: Bytes::new(),
        })
    }

    fn router() -> TypedRouter {
        let config = RelayConfig::default();
        TypedRouter::new(&config.routes, &config.namespaces)
    }

    fn places(router: &TypedRouter, event: &RelayEvent) -> Vec<(String, String)> {
        router
            .deliveries(event)
            .into_iter()
            .map(|d| (d.nsp, d.name))
            .collect()
    }

    #[test]
    fn the_default_profile_names_everything_claude_event() {
        assert_eq!(
            default_name(Profile::Default, &event("pre_tool_use", None)),
            "claude_event"
        );
    }

    #[test]
    fn the_mpm_profile_names_categories() {
        let name = |subtype, tool| default_name(Profile::ClaudeMpm, &event(subtype, tool));
        assert_eq!(name("pre_tool_use", Some("Bash")), "tool_event");
        assert_eq!(name("post_tool_use", Some("Edit")), "file_event");
        assert_eq!(name("subagent_stop", None), "agent_event");
        assert_eq!(name("user_prompt_submit", None), "session_event");
        assert_eq!(name("notification", None), "system_event");
        assert_eq!(name("brand_new_hook", None), "hook_event");
    }

    #[test]
    fn tool_events_go_to_tools_and_file_tools_also_to_files() {
        let router = router();
        assert_eq!(
            places(&router, &event("pre_tool_use", Some("Edit"))),
            [("/tools".to_owned(), "tool_start".to_owned())]
        );
        assert_eq!(
            places(&router, &event("post_tool_use", Some("Edit"))),
            [
                ("/tools".to_owned(), "tool_stop".to_owned()),
                ("/files".to_owned(), "file_operation".to_owned())
            ]
        );
        assert!(places(&router, &event("stop", None)).is_empty());
    }

    #[test]
    fn buffer_if_no_clients_keeps_events_for_the_first_client_only() {
        let mut router = router();
        let e = event("pre_tool_use", None);
        let d = &router.deliveries(&e)[0];
        assert_eq!(router.on_event(d, &e, 0), Outcome::Buffered);
        assert_eq!(router.on_event(d, &e, 2), Outcome::Send);
        assert_eq!(router.buffered("/tools"), 1);
        assert_eq!(router.on_connect("/tools", |_| true).len(), 1);
        assert!(router.on_connect("/tools", |_| true).is_empty());
    }

    #[test]
    fn buffered_events_a_client_does_not_want_wait_for_the_next_client() {
        let mut router = router();
        let (bash, edit) = (
            event("pre_tool_use", Some("Bash")),
            event("pre_tool_use", Some("Edit")),
        );
        for e in [&bash, &edit] {
            let d = &router.deliveries(e)[0];
            assert_eq!(router.on_event(d, e, 0), Outcome::Buffered);
        }
        let only_edit = |e: &RelayEvent| e.tool_name.as_deref() == Some("Edit");
        assert_eq!(router.on_connect("/tools", only_edit).len(), 1);
        let rest = router.on_connect("/tools", |_| true);
        assert_eq!(rest[0].0.tool_name.as_deref(), Some("Bash"));
    }

    #[test]
    fn drop_if_no_clients_keeps_nothing_and_always_buffer_keeps_everything() {
        let mut router = router();
        let file = event("post_tool_use", Some("Write"));
        let to_files = Delivery {
            nsp: "/files".to_owned(),
            name: "file_operation".to_owned(),
        };
        assert_eq!(router.on_event(&to_files, &file, 0), Outcome::Dropped);
        assert_eq!(router.buffered("/files"), 0);
        let error = event("error", None);
        let to_errors = Delivery {
            nsp: "/errors".to_owned(),
            name: "error".to_owned(),
        };
        assert_eq!(router.on_event(&to_errors, &error, 1), Outcome::Send);
        assert_eq!(router.on_connect("/errors", |_| true).len(), 1);
        assert_eq!(
            router.on_connect("/errors", |_| true).len(),
            1,
            "kept for every client"
        );
    }
}
