import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyFilter, matches, parseQuery, sameServerFilter, serverFilter, snakeCase, toQuery } from "../../../dashboard/js/model/filters.js";
import { event } from "./events.mjs";

const json = (e) => JSON.stringify(e).toLowerCase();

test("the URL query reads as a filter; type may be comma-separated or repeated", () => {
  assert.deepEqual(parseQuery("?session=s2&project=shop&type=pre_tool_use,stop&type=stop&q=cargo%20test"), {
    session: "s2",
    project: "shop",
    types: ["pre_tool_use", "stop"],
    q: "cargo test",
  });
  assert.deepEqual(parseQuery(""), emptyFilter());
});

test("a filter writes back as the same query, keeping other parameters", () => {
  const filter = { session: "s 2", project: null, types: ["stop", "notification"], q: "a&b" };
  assert.equal(toQuery(filter), "?session=s+2&type=stop%2Cnotification&q=a%26b");
  assert.deepEqual(parseQuery(toQuery(filter)), filter);
  assert.equal(toQuery(emptyFilter(), "?debug=1&q=old"), "?debug=1");
  assert.equal(toQuery(emptyFilter()), "");
});

test("the relay gets session, project and type, hook names as its subtypes", () => {
  const filter = { session: "s2", project: "shop", types: ["PreToolUse", "pre_tool_use", "hook"], q: "x" };
  assert.deepEqual(serverFilter(filter), { session: "s2", project: "shop", type: "pre_tool_use,hook" });
  assert.deepEqual(serverFilter(emptyFilter()), { session: null, project: null, type: null });
  assert.equal(sameServerFilter(filter, { ...filter, q: "y" }), true);
  assert.equal(sameServerFilter(filter, { ...filter, types: ["hook"] }), false);
});

test("snake case is the relay's", () => {
  assert.equal(snakeCase("PreToolUse"), "pre_tool_use");
  assert.equal(snakeCase("BrandNewHook2027"), "brand_new_hook2027");
  assert.equal(snakeCase("HTTPRequest"), "http_request");
  assert.equal(snakeCase("tool.event-x"), "tool_event_x");
});

test("session, project and type match exactly; a type matches the type or the subtype", () => {
  const e = event("PreToolUse", { tool_name: "Bash" });
  const pass = (f) => matches({ ...emptyFilter(), ...f }, e, "Bash ls", json);
  assert.equal(pass({}), true);
  assert.equal(pass({ session: "s1" }), true);
  assert.equal(pass({ session: "s2" }), false);
  assert.equal(pass({ project: "shop" }), true);
  assert.equal(pass({ project: "sho" }), false);
  assert.equal(pass({ types: ["stop", "pre_tool_use"] }), true);
  assert.equal(pass({ types: ["PreToolUse"] }), true);
  assert.equal(pass({ types: ["hook"] }), true);
  assert.equal(pass({ types: ["stop"] }), false);
});

test("free text matches every word, case-insensitively, in the summary or the JSON", () => {
  const e = event("PostToolUse", { tool_name: "Bash", tool_input: { command: "cargo test" }, tool_response: { stdout: "All Green" } });
  const pass = (q) => matches({ ...emptyFilter(), q }, e, "Bash cargo test", json);
  assert.equal(pass("CARGO"), true);
  assert.equal(pass("cargo green"), true);
  assert.equal(pass("cargo red"), false);
});
