//! What the relay does with events: profile, limits, history sizes and the routing table.
//!
//! Why its own struct: the engine's `Config` is the protocol server's; these are the
//! product's choices on top (PRODUCT.md §Events, §Socket.IO surface), layered by the
//! settings like every other value.

use std::time::Duration;

use super::batch::BatchPolicy;
use super::protection::Protection;
use super::retry::RetryPolicy;

/// The relay's configuration, carried in `Config::relay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Which event names events are delivered under on `/`.
    pub profile: Profile,
    /// Largest accepted event (one element of an ingest array), in bytes of JSON.
    pub max_event_bytes: usize,
    /// Largest request body to the `/api/` routes (an array of events), in bytes.
    pub max_request_bytes: usize,
    /// How many recent event ids are remembered to drop duplicates.
    pub dedup_window: usize,
    /// How many events the in-memory history keeps (what history queries can see).
    pub history_capacity: usize,
    /// How many bytes of event JSON the in-memory history keeps at most: the oldest events
    /// leave first, whichever of this and `history_capacity` is reached first.
    pub history_max_bytes: usize,
    /// Event types or subtypes (`post_tool_use`, `hook`, …) delivered as volatile: dropped,
    /// and counted, for a client whose queue is over its bound instead of queued for it.
    pub volatile_types: Vec<String>,
    /// How many events `event_history` holds when a client's auth names no limit.
    pub history_default_limit: usize,
    /// Largest `limit` a client or `/api/history` may ask for.
    pub history_max_limit: usize,
    /// How many events the dashboard keeps and loads (it pages history up to this many).
    pub dashboard_events: usize,
    /// Events older than this leave the history (and the store).
    pub retention_age: Duration,
    /// How many events the persistent store keeps.
    pub retention_count: usize,
    /// The typed namespaces and which events go to each.
    pub routes: Vec<Route>,
    /// Per typed namespace: what happens to its events when it has no clients.
    pub namespaces: Vec<TypedNamespace>,
    /// How deliveries to clients in reliable mode are retried and given up.
    pub retry: RetryPolicy,
    /// How events for clients that asked for batches are grouped.
    pub batch: BatchPolicy,
    /// The token, the ingest rate limit and the connection caps.
    pub protection: Protection,
    /// Cluster mode: the Redis stream shared with other relays (off without a URL).
    pub cluster: crate::cluster::ClusterConfig,
}

impl RelayConfig {
    /// Whether events of this type and subtype are volatile for congested clients.
    #[must_use]
    pub fn is_volatile(&self, kind: &str, subtype: &str) -> bool {
        self.volatile_types
            .iter()
            .any(|name| name == subtype || name == kind)
    }
}

/// The names events are delivered under on the default namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// Every event as `claude_event`.
    Default,
    /// Category names the claude-mpm dashboard expects (`tool_event`, `hook_event`, …).
    ClaudeMpm,
}

impl Profile {
    /// The profile a setting names (`default`, `claude-mpm`).
    ///
    /// # Errors
    /// Any other name; the message lists the known ones.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "default" => Ok(Self::Default),
            "claude-mpm" | "claude_mpm" => Ok(Self::ClaudeMpm),
            other => Err(format!(
                "unknown profile {other:?}: expected \"default\" or \"claude-mpm\""
            )),
        }
    }

    /// The profile's name as settings spell it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::ClaudeMpm => "claude-mpm",
        }
    }
}

/// One row of the routing table: events whose subtype is one of `subtypes` (and, when
/// `tools` is not empty, whose `tool_name` is one of `tools`) go to `nsp` as `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Snake-case subtypes matched (`pre_tool_use`, …); `*` matches any.
    pub subtypes: Vec<String>,
    /// Tool names matched; empty matches any tool or none.
    pub tools: Vec<String>,
    /// The typed namespace, e.g. `/tools`.
    pub nsp: String,
    /// The event name used there, e.g. `tool_start`.
    pub event: String,
}

/// A typed namespace and its buffer policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedNamespace {
    /// The namespace, e.g. `/tools`.
    pub nsp: String,
    /// What happens to its events with respect to clients present.
    pub policy: BufferPolicy,
    /// Most events buffered for it.
    pub buffer: usize,
}

/// What a typed namespace does with an event (seed 004 §Event Types and Routing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferPolicy {
    /// Send to connected clients; with none, buffer it for the first client to connect.
    BufferIfNoClients,
    /// Send to connected clients; with none, drop it.
    DropIfNoClients,
    /// Send to connected clients, never buffer.
    AlwaysSend,
    /// Send to connected clients and keep it buffered: every client connecting gets the buffer.
    AlwaysBuffer,
}

impl BufferPolicy {
    /// The policy a setting names (`buffer_if_no_clients`, `drop_if_no_clients`,
    /// `always_send`, `always_buffer`).
    ///
    /// # Errors
    /// Any other name; the message lists the known ones.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "buffer_if_no_clients" => Ok(Self::BufferIfNoClients),
            "drop_if_no_clients" => Ok(Self::DropIfNoClients),
            "always_send" => Ok(Self::AlwaysSend),
            "always_buffer" => Ok(Self::AlwaysBuffer),
            other => Err(format!(
                "unknown buffer policy {other:?}: expected buffer_if_no_clients, \
                 drop_if_no_clients, always_send or always_buffer"
            )),
        }
    }

    /// The policy's name as settings spell it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::BufferIfNoClients => "buffer_if_no_clients",
            Self::DropIfNoClients => "drop_if_no_clients",
            Self::AlwaysSend => "always_send",
            Self::AlwaysBuffer => "always_buffer",
        }
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            profile: Profile::Default,
            max_event_bytes: 1024 * 1024,
            max_request_bytes: 16 * 1024 * 1024,
            dedup_window: 10_000,
            history_capacity: 10_000,
            history_max_bytes: 8 * 1024 * 1024,
            volatile_types: Vec::new(),
            history_default_limit: 100,
            history_max_limit: 1000,
            dashboard_events: 10_000,
            retention_age: Duration::from_secs(7 * 24 * 3600),
            retention_count: 100_000,
            routes: default_routes(),
            namespaces: default_namespaces(),
            retry: RetryPolicy::default(),
            batch: BatchPolicy::default(),
            protection: Protection::default(),
            cluster: crate::cluster::ClusterConfig::default(),
        }
    }
}

/// The original design's table (seed 004): tool start/stop to `/tools`, sub-agents to
/// `/agents`, file operations to `/files`, connection status to `/system`, errors to `/errors`.
fn default_routes() -> Vec<Route> {
    let route = |subtypes: &[&str], tools: &[&str], nsp: &str, event: &str| Route {
        subtypes: subtypes.iter().map(|s| (*s).to_owned()).collect(),
        tools: tools.iter().map(|s| (*s).to_owned()).collect(),
        nsp: nsp.to_owned(),
        event: event.to_owned(),
    };
    let file_tools = ["Write", "Edit", "MultiEdit", "NotebookEdit", "Read"];
    vec![
        route(&["pre_tool_use"], &[], "/tools", "tool_start"),
        route(
            &["post_tool_use", "post_tool_use_failure"],
            &[],
            "/tools",
            "tool_stop",
        ),
        route(&["subagent_start"], &[], "/agents", "subagent_start"),
        route(&["subagent_stop"], &[], "/agents", "subagent_stop"),
        route(&["post_tool_use"], &file_tools, "/files", "file_operation"),
        route(&["connection_status"], &[], "/system", "connection_status"),
        route(
            &["error", "post_tool_use_failure", "stop_failure"],
            &[],
            "/errors",
            "error",
        ),
    ]
}

fn default_namespaces() -> Vec<TypedNamespace> {
    let nsp = |name: &str, policy| TypedNamespace {
        nsp: name.to_owned(),
        policy,
        buffer: 1000,
    };
    vec![
        nsp("/tools", BufferPolicy::BufferIfNoClients),
        nsp("/agents", BufferPolicy::BufferIfNoClients),
        nsp("/files", BufferPolicy::DropIfNoClients),
        nsp("/system", BufferPolicy::AlwaysSend),
        nsp("/errors", BufferPolicy::AlwaysBuffer),
    ]
}
