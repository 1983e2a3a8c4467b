// The two ways to carry Engine.IO packets: a websocket, or HTTP long-polling when a websocket
// cannot be opened (a proxy that refuses upgrades). Both have the same shape, so the client does
// not care which it has:
//   opened       true once the connection is up (a websocket opened, a poll answered)
//   send(texts)  sends Engine.IO packet strings, in order
//   close(tell)  ends it at once, with no more callbacks; `tell`: say so to the relay first
// and call `onPacket({type, data})` for each packet received, then `onClose(reason)` once if the
// connection ends by itself. Neither sets a deadline of its own: the client's handshake timer
// and stale-connection detection close a transport that hangs.

import { EIO, decodeEngine, joinPayload, splitPayload } from "./packet.js";

/** Opens a transport of `kind` ("websocket" or "polling") to the relay at `url` (http[s]://host). */
export function openTransport(kind, url, handlers) {
  return kind === "polling" ? new PollingTransport(url, handlers) : new WebSocketTransport(url, handlers);
}

const PATH = "/socket.io/?EIO=4&transport=";

class WebSocketTransport {
  constructor(url, { onPacket, onClose }) {
    this.opened = false;
    this.ws = new WebSocket(`${url.replace(/^http/, "ws")}${PATH}websocket`);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => (this.opened = true);
    this.ws.onmessage = ({ data }) => {
      let packet;
      try {
        packet = typeof data === "string" ? decodeEngine(data) : { type: EIO.binary };
      } catch (err) {
        return this.#fail(onClose, `malformed packet: ${err.message}`);
      }
      onPacket(packet);
    };
    this.ws.onclose = ({ code }) => this.#fail(onClose, `websocket closed (${code})`);
  }

  send(texts) {
    for (const text of texts) this.ws.send(text);
  }

  /** A close frame is how a websocket tells the relay, so `tell` changes nothing here. */
  close() {
    this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    this.ws.close();
  }

  #fail(onClose, reason) {
    this.close();
    onClose(reason);
  }
}

/** Long-polling: one GET waiting for packets at all times, and one POST at a time sending them
 * (Engine.IO refuses overlapping POSTs), with what was sent meanwhile in the next. */
class PollingTransport {
  constructor(url, { onPacket, onClose }) {
    Object.assign(this, { onPacket, onClose, opened: false, closed: false, sid: null, outbox: [], posting: false });
    this.url = `${url}${PATH}polling`;
    this.polls = new AbortController();
    this.#poll();
  }

  send(texts) {
    if (this.closed) return;
    this.outbox.push(...texts);
    if (!this.posting) this.#post();
  }

  /** Ends it, with no more callbacks. With `tell`, what is left to send and a close packet are
   * posted first (after the POST in flight, never beside it), and the waiting GET is aborted
   * only then: the relay takes an aborted poll for a lost connection and forgets the session,
   * so a close sent after it would be refused with a 400. */
  close(tell = false) {
    if (this.closed) return;
    this.closed = true;
    if (!tell || !this.sid) {
      this.outbox = [];
      this.polls.abort();
      return;
    }
    this.outbox.push(EIO.close);
    if (!this.posting) this.#post();
  }

  #sessionUrl() {
    return `${this.url}&sid=${encodeURIComponent(this.sid)}`;
  }

  async #request(init) {
    const res = await fetch(this.sid ? this.#sessionUrl() : this.url, { cache: "no-store", ...init });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.text();
  }

  async #poll() {
    while (!this.closed) {
      let packets;
      try {
        packets = splitPayload(await this.#request({ signal: this.polls.signal })).map(decodeEngine);
      } catch (err) {
        return this.#fail(`poll failed: ${err.message}`);
      }
      for (const packet of packets) {
        if (this.closed) return;
        if (packet.type === EIO.open) this.sid = packet.data.sid;
        this.opened = true;
        this.onPacket(packet);
      }
    }
  }

  /** Sends the outbox, one POST at a time; the last ones of a closed transport are sent with
   * `keepalive`, so they still go out when the page is being unloaded. */
  async #post() {
    this.posting = true;
    while (this.outbox.length) {
      const body = joinPayload(this.outbox.splice(0));
      const headers = { "content-type": "text/plain;charset=UTF-8" };
      try {
        await this.#request({ method: "POST", body, headers, keepalive: this.closed });
      } catch (err) {
        this.outbox = [];
        this.#fail(`post failed: ${err.message}`);
      }
    }
    this.posting = false;
    if (this.closed) this.polls.abort();
  }

  #fail(reason) {
    if (this.closed) return;
    this.close();
    this.onClose(reason);
  }
}
