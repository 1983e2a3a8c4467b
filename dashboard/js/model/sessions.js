// Sessions and their sub-agents, from the events the page holds: for each session its project,
// last activity and counts, and the sub-agents (`agent_id` / `agent_type`) that ran inside it;
// and a per-session timeline of marks for the lanes view.

import { hookName, kindOf } from "./summary.js";
import { timeOf } from "./format.js";
import { compareOffsets } from "./store.js";

/** When an event happened: the sender's timestamp, else when the relay received it. */
export function eventTime(event) {
  const t = timeOf(event.timestamp);
  return Number.isFinite(t) ? t : timeOf(event.received_at);
}

/** Every session seen in the held events, with counts that follow evictions. */
export class Sessions {
  #byId = new Map();

  /** Counts `event` into its session (and sub-agent). */
  add(event) {
    const id = event.session_id ?? "";
    let session = this.#byId.get(id);
    if (!session) {
      session = { id, project: null, cwd: null, firstMs: Infinity, lastMs: -Infinity, agents: new Map(), ...zero() };
      this.#byId.set(id, session);
    }
    const t = eventTime(event);
    if (event.project) session.project = event.project;
    if (event.cwd) session.cwd = event.cwd;
    count(session, event, t, +1);
    const agentId = event.agent_id ?? event.data?.agent_id;
    if (!agentId) return;
    let agent = session.agents.get(agentId);
    if (!agent) {
      agent = { id: agentId, type: null, firstMs: Infinity, lastMs: -Infinity, finished: false, ...zero() };
      session.agents.set(agentId, agent);
    }
    agent.type = event.agent_type ?? event.data?.agent_type ?? agent.type;
    if (hookName(event) === "SubagentStop") agent.finished = true;
    count(agent, event, t, +1);
  }

  /** Uncounts `event` (it left the page); a session or sub-agent with no events left is gone. */
  forget(event) {
    const id = event.session_id ?? "";
    const session = this.#byId.get(id);
    if (!session) return;
    count(session, event, NaN, -1);
    if (session.events <= 0) this.#byId.delete(id);
    const agentId = event.agent_id ?? event.data?.agent_id;
    const agent = agentId && session.agents.get(agentId);
    if (!agent) return;
    count(agent, event, NaN, -1);
    if (agent.events <= 0) session.agents.delete(agentId);
  }

  /** Forgets every session. */
  clear() {
    this.#byId.clear();
  }

  /** How many sessions. */
  get size() {
    return this.#byId.size;
  }

  /**
   * Sessions, most recently active first (at the same millisecond, the one with the later
   * event); each with `agents`, a list in the same order.
   */
  list() {
    return [...this.#byId.values()]
      .sort(byActivity)
      .map((session) => ({ ...session, agents: [...session.agents.values()].sort(byActivity) }));
  }
}

/**
 * Timeline marks per lane for `events` (oldest first): a lane is a session (key: its id) or a
 * sub-agent (key: `session id + "/" + agent id`); a mark is `{t, end, kind}` where a tool call
 * spans from its PreToolUse to its post event (`end` null while running) and every other event
 * is a point (`end` equal to `t`).
 */
export function timelines(events) {
  const lanes = new Map();
  const open = new Map();
  for (const event of events) {
    const t = eventTime(event);
    const name = hookName(event);
    const agentId = event.agent_id ?? event.data?.agent_id;
    const key = agentId ? `${event.session_id ?? ""}/${agentId}` : event.session_id ?? "";
    const toolUseId = event.tool_use_id ?? event.data?.tool_use_id;
    if ((name === "PostToolUse" || name === "PostToolUseFailure") && open.has(toolUseId)) {
      const mark = open.get(toolUseId);
      mark.end = t;
      if (name === "PostToolUseFailure") mark.kind = "failure";
      open.delete(toolUseId);
      continue;
    }
    const mark = { t, end: t, kind: kindOf(event) };
    if (name === "PreToolUse" && toolUseId) {
      mark.end = null;
      open.set(toolUseId, mark);
    }
    if (!lanes.has(key)) lanes.set(key, []);
    lanes.get(key).push(mark);
  }
  return lanes;
}

function zero() {
  return { events: 0, prompts: 0, tools: 0, failures: 0, lastOffset: "0" };
}

function byActivity(a, b) {
  return b.lastMs - a.lastMs || compareOffsets(b.lastOffset, a.lastOffset);
}

function count(target, event, t, sign) {
  const name = hookName(event);
  target.events += sign;
  if (name === "UserPromptSubmit") target.prompts += sign;
  if (name === "PreToolUse") target.tools += sign;
  if (name === "PostToolUseFailure") target.failures += sign;
  if (Number.isFinite(t)) {
    target.firstMs = Math.min(target.firstMs, t);
    target.lastMs = Math.max(target.lastMs, t);
  }
  if (sign > 0 && compareOffsets(event.offset, target.lastOffset) > 0) target.lastOffset = event.offset;
}
