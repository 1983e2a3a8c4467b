// Canonical events as the relay delivers them (docs/user-guide.md §The event model), for the
// unit tests of the page's model modules.

let offset = 0;

/** A canonical hook event named `hook` in session `session`, `data` merged into the raw hook. */
export function event(hook, data = {}, fields = {}) {
  offset += 1;
  const session = fields.session_id ?? data.session_id ?? "s1";
  const raw = { session_id: session, cwd: "/home/dev/shop", hook_event_name: hook, ...data };
  return {
    id: `e${offset}`,
    offset: String(offset),
    type: "hook",
    subtype: hook.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase(),
    hook_event_name: hook,
    timestamp: "2026-01-06T14:00:00.000Z",
    received_at: "2026-01-06T14:00:00.000Z",
    session_id: session,
    agent_id: raw.agent_id ?? null,
    agent_type: raw.agent_type ?? null,
    cwd: raw.cwd,
    project: "shop",
    tool_name: raw.tool_name ?? null,
    tool_use_id: raw.tool_use_id ?? null,
    source: "hook",
    data: raw,
    ...fields,
  };
}
