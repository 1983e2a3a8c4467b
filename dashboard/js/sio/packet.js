// Engine.IO v4 and Socket.IO v5 packets, text only: the relay never sends binary to a page, so
// a binary packet is recognised (to be ignored) but never read.

/** Engine.IO packet types, by the character that starts a packet. */
export const EIO = { open: "0", close: "1", ping: "2", pong: "3", message: "4", noop: "6", binary: "b" };

/** Socket.IO packet types, by the character that starts an Engine.IO message. */
export const SIO = { connect: "0", disconnect: "1", event: "2", ack: "3", connectError: "4", binaryEvent: "5", binaryAck: "6" };

/** Separates Engine.IO packets in a long-polling payload (JSON escapes it inside strings). */
export const SEPARATOR = "\x1e";

/** The Engine.IO packet strings of a long-polling payload. */
export const splitPayload = (payload) => (payload === "" ? [] : payload.split(SEPARATOR));

/** One long-polling payload of Engine.IO packet strings. */
export const joinPayload = (packets) => packets.join(SEPARATOR);

/**
 * `{type, data}` of an Engine.IO packet string: an open packet's data is its parsed handshake
 * (`{sid, pingInterval, pingTimeout, maxPayload}`), a binary packet (`b…`) has none.
 * @throws {SyntaxError} when an open packet's JSON is malformed.
 */
export function decodeEngine(text) {
  const type = text[0];
  if (type === EIO.binary) return { type };
  return { type, data: type === EIO.open ? JSON.parse(text.slice(1)) : text.slice(1) };
}

/** The Engine.IO message string carrying a Socket.IO packet on namespace "/". */
export function encodeSocket({ type, ackId, data }) {
  const id = ackId === undefined ? "" : String(ackId);
  return EIO.message + type + id + (data === undefined ? "" : JSON.stringify(data));
}

/**
 * `{type, nsp, ackId, data}` of the Socket.IO packet in an Engine.IO message's data. A binary
 * packet comes back as its type alone (its attachments are never read).
 * @throws {SyntaxError} when the JSON part is malformed.
 */
export function decodeSocket(text) {
  const type = text[0];
  if (type === SIO.binaryEvent || type === SIO.binaryAck) return { type };
  let i = 1;
  let nsp = "/";
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    nsp = comma < 0 ? text.slice(i) : text.slice(i, comma);
    i = comma < 0 ? text.length : comma + 1;
  }
  const start = i;
  while (text[i] >= "0" && text[i] <= "9") i++;
  const ackId = i > start ? Number(text.slice(start, i)) : undefined;
  const data = i < text.length ? JSON.parse(text.slice(i)) : undefined;
  return { type, nsp, ackId, data };
}
