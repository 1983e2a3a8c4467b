import assert from "node:assert/strict";
import { test } from "node:test";
import { Sessions, timelines } from "../../../dashboard/js/model/sessions.js";
import { event } from "./events.mjs";

const t = (s) => ({ timestamp: `2026-01-06T14:00:${String(s).padStart(2, "0")}.000Z` });

test("a session has its project, last activity and counts", () => {
  const sessions = new Sessions();
  sessions.add(event("UserPromptSubmit", { prompt: "go" }, t(1)));
  sessions.add(event("PreToolUse", { tool_name: "Bash", tool_use_id: "a" }, t(2)));
  sessions.add(event("PostToolUseFailure", { tool_name: "Bash", tool_use_id: "a" }, t(5)));
  const [s1] = sessions.list();
  assert.equal(s1.id, "s1");
  assert.equal(s1.project, "shop");
  assert.equal(s1.lastMs, Date.parse("2026-01-06T14:00:05.000Z"));
  assert.deepEqual([s1.events, s1.prompts, s1.tools, s1.failures], [3, 1, 1, 1]);
});

test("sessions list most recently active first", () => {
  const sessions = new Sessions();
  sessions.add(event("Stop", {}, { session_id: "old", ...t(1) }));
  sessions.add(event("Stop", {}, { session_id: "new", ...t(9) }));
  assert.deepEqual(sessions.list().map((s) => s.id), ["new", "old"]);
});

test("sessions active in the same millisecond list the one with the later event first", () => {
  const sessions = new Sessions();
  sessions.add(event("Stop", {}, { session_id: "b", ...t(5) }));
  sessions.add(event("Stop", {}, { session_id: "a", ...t(5) }));
  assert.deepEqual(sessions.list().map((s) => s.id), ["a", "b"]);
});

test("sub-agents are grouped under their session by agent_id, with their type", () => {
  const sessions = new Sessions();
  sessions.add(event("SubagentStart", { agent_id: "ag1", agent_type: "Explore" }, t(1)));
  sessions.add(event("PreToolUse", { agent_id: "ag1", tool_name: "Grep", tool_use_id: "g" }, t(2)));
  sessions.add(event("PreToolUse", { tool_name: "Bash", tool_use_id: "b" }, t(3)));
  const [s1] = sessions.list();
  assert.equal(s1.events, 3);
  assert.equal(s1.agents.length, 1);
  const [agent] = s1.agents;
  assert.deepEqual([agent.id, agent.type, agent.events, agent.tools, agent.finished], ["ag1", "Explore", 2, 1, false]);
  sessions.add(event("SubagentStop", { agent_id: "ag1", agent_type: "Explore" }, t(4)));
  assert.equal(sessions.list()[0].agents[0].finished, true);
});

test("forgetting a session's last event removes it; counts follow evictions", () => {
  const sessions = new Sessions();
  const a = event("UserPromptSubmit", { prompt: "go" }, { session_id: "a" });
  const b1 = event("UserPromptSubmit", { prompt: "go" }, { session_id: "b" });
  const b2 = event("SubagentStart", { agent_id: "x", agent_type: "Plan" }, { session_id: "b" });
  for (const e of [a, b1, b2]) sessions.add(e);
  sessions.forget(a);
  sessions.forget(b2);
  const list = sessions.list();
  assert.deepEqual(list.map((s) => s.id), ["b"]);
  assert.deepEqual([list[0].events, list[0].prompts, list[0].agents.length], [1, 1, 0]);
});

test("timelines: a lane per session and sub-agent; tool calls span pre to post", () => {
  const lanes = timelines([
    event("UserPromptSubmit", { prompt: "go" }, t(1)),
    event("PreToolUse", { tool_name: "Bash", tool_use_id: "b" }, t(2)),
    event("PreToolUse", { agent_id: "ag1", tool_name: "Grep", tool_use_id: "g" }, t(3)),
    event("PostToolUseFailure", { tool_name: "Bash", tool_use_id: "b" }, t(4)),
  ]);
  const ms = (s) => Date.parse(t(s).timestamp);
  assert.deepEqual([...lanes.keys()], ["s1", "s1/ag1"]);
  assert.deepEqual(lanes.get("s1"), [
    { t: ms(1), end: ms(1), kind: "prompt" },
    { t: ms(2), end: ms(4), kind: "failure" },
  ]);
  assert.deepEqual(lanes.get("s1/ag1"), [{ t: ms(3), end: null, kind: "tool" }]);
});
