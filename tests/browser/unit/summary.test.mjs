import assert from "node:assert/strict";
import { test } from "node:test";
import { kindOf, MAX_SUMMARY, summarize } from "../../../dashboard/js/model/summary.js";
import { event } from "./events.mjs";

const tool = (name, input, hook = "PreToolUse") => summarize(event(hook, { tool_name: name, tool_input: input }));

test("a prompt reads as its text, on one line", () => {
  assert.equal(summarize(event("UserPromptSubmit", { prompt: "fix the\n  failing test" })), "fix the failing test");
});

test("a tool reads as its name and what it works on", () => {
  assert.equal(tool("Bash", { command: "cargo test", description: "run tests" }), "Bash cargo test");
  assert.equal(tool("Read", { file_path: "/src/main.rs" }), "Read /src/main.rs");
  assert.equal(tool("Edit", { file_path: "/src/lib.rs", old_string: "a" }, "PostToolUse"), "Edit /src/lib.rs");
  assert.equal(tool("NotebookEdit", { notebook_path: "/n.ipynb" }), "NotebookEdit /n.ipynb");
  assert.equal(tool("Grep", { pattern: "TODO", path: "src/" }), "Grep TODO in src/");
  assert.equal(tool("Glob", { pattern: "**/*.rs" }), "Glob **/*.rs");
  assert.equal(tool("WebFetch", { url: "https://example.com", prompt: "summarise" }), "WebFetch https://example.com");
  assert.equal(tool("WebSearch", { query: "rust sqlite" }), "WebSearch rust sqlite");
  assert.equal(tool("Task", { description: "find the bug", subagent_type: "Explore" }), "Task find the bug");
  assert.equal(tool("mcp__db__query", { sql: "select 1" }), "mcp__db__query select 1");
  assert.equal(tool("TodoWrite", { todos: [] }), "TodoWrite");
});

test("a failed tool says what failed and why", () => {
  const failed = event("PostToolUseFailure", { tool_name: "Bash", tool_input: { command: "make" }, error: "exit 2" });
  assert.equal(summarize(failed), "Bash make → exit 2");
});

test("stops read as their reason, or the sub-agent that finished", () => {
  assert.equal(summarize(event("Stop", { stop_hook_active: false })), "stopped");
  assert.equal(summarize(event("Stop", { stop_reason: "end_turn" })), "stopped end_turn");
  assert.equal(summarize(event("SessionEnd", { reason: "logout" })), "session ended logout");
  assert.equal(summarize(event("SubagentStop", { agent_id: "a1", agent_type: "Explore" })), "Explore finished");
  assert.equal(summarize(event("SubagentStart", { agent_id: "a1", agent_type: "Plan" })), "Plan started");
});

test("notifications read as their message, permission requests as what they ask", () => {
  assert.equal(summarize(event("Notification", { message: "Claude needs your permission to use Bash" })),
    "Claude needs your permission to use Bash");
  assert.equal(summarize(event("PermissionRequest", { tool_name: "Bash", tool_input: { command: "rm -rf build" } })),
    "asks to use Bash rm -rf build");
});

test("a session start reads as its source", () => {
  assert.equal(summarize(event("SessionStart", { source: "resume" })), "session started (resume)");
  assert.equal(summarize(event("SessionStart", {})), "session started");
});

test("an unknown hook reads as its name and its most descriptive field", () => {
  assert.equal(summarize(event("BrandNewHook2027", { message: "hello" })), "BrandNewHook2027 hello");
  assert.equal(summarize(event("TeammateIdle", {})), "TeammateIdle");
  const bare = { id: "x", offset: "9", type: "deploy", subtype: "unknown", hook_event_name: null, data: { status: "done" } };
  assert.equal(summarize(bare), "unknown done");
});

test("summaries are cut to MAX_SUMMARY characters", () => {
  const line = summarize(event("UserPromptSubmit", { prompt: "x".repeat(5000) }));
  assert.equal(line.length, MAX_SUMMARY);
  assert.ok(line.endsWith("…"));
});

test("hostile text stays text", () => {
  assert.equal(summarize(event("UserPromptSubmit", { prompt: "<img src=x onerror=alert(1)>" })), "<img src=x onerror=alert(1)>");
});

test("kinds colour the list", () => {
  assert.equal(kindOf(event("UserPromptSubmit")), "prompt");
  assert.equal(kindOf(event("PreToolUse", { tool_name: "Bash" })), "tool");
  assert.equal(kindOf(event("PostToolUseFailure", { tool_name: "Bash" })), "failure");
  assert.equal(kindOf(event("PermissionRequest", { tool_name: "Bash" })), "attention");
  assert.equal(kindOf(event("Notification")), "attention");
  assert.equal(kindOf(event("Stop")), "stop");
  assert.equal(kindOf(event("SubagentStop")), "stop");
  assert.equal(kindOf(event("SessionStart")), "start");
  assert.equal(kindOf(event("PreCompact")), "other");
});
