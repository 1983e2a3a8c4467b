import assert from "node:assert/strict";
import { test } from "node:test";
import { ToolCalls } from "../../../dashboard/js/model/tools.js";
import { event } from "./events.mjs";

const at = (iso) => ({ timestamp: iso });
const pre = (id, iso) => event("PreToolUse", { tool_name: "Bash", tool_use_id: id }, at(iso));
const post = (id, iso, hook = "PostToolUse") => event(hook, { tool_name: "Bash", tool_use_id: id }, at(iso));

test("a PreToolUse alone is running, with no duration", () => {
  const calls = new ToolCalls();
  const start = pre("tu-1", "2026-01-06T14:00:00.000Z");
  calls.add(start);
  assert.deepEqual(calls.statusOf(start), { status: "running", durationMs: null });
});

test("its PostToolUse makes both events ok, with the time between them", () => {
  const calls = new ToolCalls();
  const start = pre("tu-1", "2026-01-06T14:00:00.000Z");
  const end = post("tu-1", "2026-01-06T14:00:01.250Z");
  calls.add(start);
  calls.add(end);
  assert.deepEqual(calls.statusOf(start), { status: "ok", durationMs: 1250 });
  assert.deepEqual(calls.statusOf(end), { status: "ok", durationMs: 1250 });
});

test("a PostToolUseFailure fails the call", () => {
  const calls = new ToolCalls();
  const start = pre("tu-2", "2026-01-06T14:00:00.000Z");
  calls.add(start);
  calls.add(post("tu-2", "2026-01-06T14:00:00.040Z", "PostToolUseFailure"));
  assert.deepEqual(calls.statusOf(start), { status: "failed", durationMs: 40 });
});

test("calls pair by tool_use_id, whatever the order they arrive in", () => {
  const calls = new ToolCalls();
  const a = pre("a", "2026-01-06T14:00:00.000Z");
  const b = pre("b", "2026-01-06T14:00:00.100Z");
  calls.add(post("b", "2026-01-06T14:00:00.300Z"));
  calls.add(a);
  calls.add(b);
  assert.deepEqual(calls.statusOf(a), { status: "running", durationMs: null });
  assert.deepEqual(calls.statusOf(b), { status: "ok", durationMs: 200 });
});

test("a post event whose PreToolUse is not held has a status and no duration", () => {
  const calls = new ToolCalls();
  const end = post("tu-3", "2026-01-06T14:00:01.000Z");
  calls.add(end);
  assert.deepEqual(calls.statusOf(end), { status: "ok", durationMs: null });
});

test("events that are not tool calls have no status", () => {
  const calls = new ToolCalls();
  const prompt = event("UserPromptSubmit", { prompt: "hi" });
  const permission = event("PermissionRequest", { tool_name: "Bash", tool_use_id: "tu-4" });
  calls.add(prompt);
  calls.add(permission);
  assert.equal(calls.statusOf(prompt), null);
  assert.equal(calls.statusOf(permission), null);
});

test("a forgotten PostToolUse makes the call running again; forgetting both ends drops it", () => {
  const calls = new ToolCalls();
  const start = pre("tu-5", "2026-01-06T14:00:00.000Z");
  const end = post("tu-5", "2026-01-06T14:00:02.000Z");
  calls.add(start);
  calls.add(end);
  calls.forget(end);
  assert.equal(calls.statusOf(start).status, "running");
  calls.forget(start);
  assert.equal(calls.statusOf(start), null);
});
