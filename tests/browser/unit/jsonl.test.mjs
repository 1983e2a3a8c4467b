import assert from "node:assert/strict";
import { test } from "node:test";
import { exportName, toJsonl } from "../../../dashboard/js/model/jsonl.js";

test("one event per line, each line JSON, ending in a newline", () => {
  const events = [{ offset: "1", data: { prompt: "a\nb" } }, { offset: "2", data: {} }];
  const text = toJsonl(events);
  assert.equal(text, '{"offset":"1","data":{"prompt":"a\\nb"}}\n{"offset":"2","data":{}}\n');
  assert.deepEqual(text.trimEnd().split("\n").map((line) => JSON.parse(line)), events);
  assert.equal(toJsonl([]), "");
});

test("export files are named by their UTC time", () => {
  assert.equal(exportName(Date.parse("2026-01-06T14:03:22.123Z")), "iorelay-events-20260106-140322.jsonl");
});
