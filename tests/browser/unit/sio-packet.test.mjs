import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeEngine, decodeSocket, encodeSocket, joinPayload, splitPayload } from "../../../dashboard/js/sio/packet.js";

test("an Engine.IO open packet carries the parsed handshake", () => {
  const open = decodeEngine('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  assert.deepEqual(open, {
    type: "0",
    data: { sid: "abc", upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 },
  });
});

test("Engine.IO ping, close, noop and message packets keep their data as text", () => {
  assert.deepEqual(decodeEngine("2"), { type: "2", data: "" });
  assert.deepEqual(decodeEngine("1"), { type: "1", data: "" });
  assert.deepEqual(decodeEngine("6"), { type: "6", data: "" });
  assert.deepEqual(decodeEngine('42["claude_event",{"a":1},"7"]'), { type: "4", data: '2["claude_event",{"a":1},"7"]' });
});

test("a base64 binary packet is recognised without being read", () => {
  assert.deepEqual(decodeEngine("bAQID"), { type: "b" });
});

test("a long-polling payload splits on the record separator, and joins back", () => {
  assert.deepEqual(splitPayload('2\x1e42["a","x\\u001ey"]\x1e6'), ["2", '42["a","x\\u001ey"]', "6"]);
  assert.deepEqual(splitPayload(""), []);
  assert.equal(joinPayload(["3", '42["b"]']), '3\x1e42["b"]');
});

test("Socket.IO packets on / encode with their ack id and JSON data", () => {
  assert.equal(encodeSocket({ type: "0", data: { token: "t", pid: "p", offset: "12" } }), '40{"token":"t","pid":"p","offset":"12"}');
  assert.equal(encodeSocket({ type: "2", data: ["history", { before: "9", limit: 1000 }] }), '42["history",{"before":"9","limit":1000}]');
  assert.equal(encodeSocket({ type: "2", ackId: 13, data: ["subscribe", {}] }), '4213["subscribe",{}]');
  assert.equal(encodeSocket({ type: "3", ackId: 4, data: ["ok"] }), '434["ok"]');
  assert.equal(encodeSocket({ type: "1" }), "41");
});

test("Socket.IO packets decode into type, namespace, ack id and data", () => {
  assert.deepEqual(decodeSocket('0{"sid":"s1","pid":"p1"}'), { type: "0", nsp: "/", ackId: undefined, data: { sid: "s1", pid: "p1" } });
  assert.deepEqual(decodeSocket('2["claude_event",{"id":"e1"},"41"]'), {
    type: "2",
    nsp: "/",
    ackId: undefined,
    data: ["claude_event", { id: "e1" }, "41"],
  });
  assert.deepEqual(decodeSocket('37[{"events":[],"count":0}]'), { type: "3", nsp: "/", ackId: 7, data: [{ events: [], count: 0 }] });
  assert.deepEqual(decodeSocket('4{"message":"unauthorized"}'), { type: "4", nsp: "/", ackId: undefined, data: { message: "unauthorized" } });
  assert.deepEqual(decodeSocket("1"), { type: "1", nsp: "/", ackId: undefined, data: undefined });
  assert.deepEqual(decodeSocket('2/admin,5["x"]'), { type: "2", nsp: "/admin", ackId: 5, data: ["x"] });
  assert.deepEqual(decodeSocket("1/admin,"), { type: "1", nsp: "/admin", ackId: undefined, data: undefined });
});

test("binary Socket.IO packets come back as their type alone", () => {
  assert.deepEqual(decodeSocket('51-["upload",{"_placeholder":true,"num":0}]'), { type: "5" });
  assert.deepEqual(decodeSocket('61-3[{"_placeholder":true,"num":0}]'), { type: "6" });
});

test("malformed JSON is a SyntaxError, for the client to ignore the packet", () => {
  assert.throws(() => decodeSocket('2["claude_event",'), SyntaxError);
  assert.throws(() => decodeEngine("0{sid"), SyntaxError);
});
