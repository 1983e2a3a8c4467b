// Tool calls paired by `tool_use_id`: a PreToolUse opens a call (running), its PostToolUse closes
// it (ok) and a PostToolUseFailure fails it; the duration is the gap between the two events'
// timestamps (the sender's clock, so relay delays do not count).

import { hookName } from "./summary.js";
import { timeOf } from "./format.js";

/** The tool calls of the events the page holds, by `tool_use_id`. */
export class ToolCalls {
  #calls = new Map();

  /** Records `event` if it is a tool event with a `tool_use_id`. */
  add(event) {
    const id = toolUseId(event);
    if (!id) return;
    const role = roleOf(event);
    if (!role) return;
    const call = this.#calls.get(id) ?? { pre: null, post: null };
    call[role] = event;
    this.#calls.set(id, call);
  }

  /** Drops what `event` contributed (it left the page); a call with no events left is gone. */
  forget(event) {
    const id = toolUseId(event);
    const call = id && this.#calls.get(id);
    if (!call) return;
    if (call.pre === event) call.pre = null;
    if (call.post === event) call.post = null;
    if (!call.pre && !call.post) this.#calls.delete(id);
  }

  /** Forgets every call. */
  clear() {
    this.#calls.clear();
  }

  /**
   * The call `event` belongs to: `{status, durationMs}` with status `running`, `ok` or
   * `failed`, and durationMs null unless both ends are known; null for a non-tool event.
   */
  statusOf(event) {
    const id = toolUseId(event);
    const call = id && roleOf(event) && this.#calls.get(id);
    if (!call) return null;
    if (!call.post) return { status: "running", durationMs: null };
    const status = hookName(call.post) === "PostToolUseFailure" ? "failed" : "ok";
    const durationMs = call.pre ? timeOf(call.post.timestamp) - timeOf(call.pre.timestamp) : NaN;
    return { status, durationMs: Number.isFinite(durationMs) ? Math.max(0, durationMs) : null };
  }

  /** The PreToolUse and post event of the call `event` belongs to (either may be null). */
  callOf(event) {
    const id = toolUseId(event);
    return (id && this.#calls.get(id)) || null;
  }
}

function toolUseId(event) {
  return event.tool_use_id || event.data?.tool_use_id || null;
}

function roleOf(event) {
  const name = hookName(event);
  if (name === "PreToolUse") return "pre";
  if (name === "PostToolUse" || name === "PostToolUseFailure") return "post";
  return null;
}
