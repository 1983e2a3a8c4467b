import assert from "node:assert/strict";
import { test } from "node:test";
import { Attention, MAX_REMEMBERED } from "../../../dashboard/js/model/attention.js";
import { event } from "./events.mjs";

/** sessionStorage's interface over a Map. */
function memoryStorage() {
  const map = new Map();
  return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, String(v)) };
}

const ids = (events) => events.map((e) => e.id);

test("a Notification or PermissionRequest raises attention", () => {
  const attention = new Attention(memoryStorage());
  const prompt = event("UserPromptSubmit", { prompt: "go" });
  const note = event("Notification", { message: "Claude is waiting for your input" });
  const ask = event("PermissionRequest", { tool_name: "Bash" }, { session_id: "s2" });
  attention.add(prompt);
  attention.add(note);
  attention.add(ask);
  assert.deepEqual(ids(attention.raised()), [ask.id, note.id]);
  assert.equal(attention.isRaised(note), true);
});

test("later activity in the same session lowers it; other sessions do not", () => {
  const attention = new Attention(memoryStorage());
  const note = event("Notification", { message: "waiting" });
  attention.add(note);
  attention.add(event("PreToolUse", { tool_name: "Bash" }, { session_id: "s2" }));
  assert.deepEqual(ids(attention.raised()), [note.id]);
  attention.add(event("UserPromptSubmit", { prompt: "yes" }));
  assert.deepEqual(attention.raised(), []);
});

test("one that arrives after its session's later activity (a back-filled gap) is not raised", () => {
  const attention = new Attention(memoryStorage());
  const note = event("Notification", { message: "waiting" });
  const later = event("UserPromptSubmit", { prompt: "yes" });
  attention.add(later);
  attention.add(note);
  assert.deepEqual(attention.raised(), []);
});

test("an acknowledged one is lowered, and stays lowered after a reload", () => {
  const storage = memoryStorage();
  const note = event("Notification", { message: "waiting" });
  const before = new Attention(storage);
  before.add(note);
  before.acknowledge([note.id]);
  assert.deepEqual(before.raised(), []);
  const after = new Attention(storage);
  after.add(note);
  assert.deepEqual(after.raised(), []);
});

test("only the newest MAX_REMEMBERED acknowledgements are kept", () => {
  const storage = memoryStorage();
  const attention = new Attention(storage);
  attention.acknowledge(Array.from({ length: MAX_REMEMBERED + 5 }, (_, i) => `n${i}`));
  const kept = JSON.parse(storage.getItem("iorelay.seen"));
  assert.equal(kept.length, MAX_REMEMBERED);
  assert.equal(kept[0], "n5");
});

test("without storage, or with broken storage, acknowledging still works", () => {
  const note = event("Notification", { message: "waiting" });
  for (const storage of [null, { getItem: () => "{not json", setItem: () => { throw new Error("full"); } }]) {
    const attention = new Attention(storage);
    attention.add(note);
    attention.acknowledge([note.id]);
    assert.deepEqual(attention.raised(), []);
  }
});
