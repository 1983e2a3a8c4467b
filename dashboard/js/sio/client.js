// The page's Socket.IO v5 client on namespace "/", over Engine.IO v4. It reconnects for as long
// as the page is open (an agent dashboard is left open for days), and sends back the private id
// and last offset the relay gave it so that a reconnect within the relay's recovery window is
// replayed every event it missed (Socket.IO connection state recovery).

import { Backoff } from "./backoff.js";
import { Emitter, report } from "./emitter.js";
import { EIO, SIO, encodeSocket, decodeSocket } from "./packet.js";
import { openTransport } from "./transport.js";

/** How long a transport may take to reach a Socket.IO CONNECT reply before it counts as failed. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Most emits kept while disconnected; past it the oldest is dropped. */
export const QUEUE_MAX = 100;

/** The client's own event names; a server event of one of these names is ignored. */
const LIFECYCLE = new Set(["connect", "disconnect", "state", "connect_error"]);

/**
 * A Socket.IO client that never gives up: `on(name, fn)` for "connect" ({recovered}),
 * "disconnect" (reason), "state" ("connecting" | "connected" | "reconnecting" | "disconnected"),
 * "connect_error" ({message, data}) and every event the relay sends, with its arguments.
 */
export class Client extends Emitter {
  #url;
  #auth;
  #transports;
  #backoff;
  #state = "disconnected";
  #active = false; // connect() was called and neither disconnect() nor a CONNECT_ERROR since
  #transport = null;
  #timers = { retry: 0, handshake: 0, stale: 0 };
  #heartbeatMs = 0; // pingInterval + pingTimeout of the current connection
  #pid; // the relay's private id of this socket, sent back to recover it
  #offset; // the last string argument of an event: where recovery resumes
  #connectedAt = null;
  #lastPingAt = null;
  #queue = [];
  #acks = new Map();
  #nextAckId = 0;
  #pendingEmissions = 0;
  #retryAttempts = 0;

  /**
   * `url`: the relay (http[s]://host[:port]); `auth()`: the CONNECT payload, asked on every
   * attempt; `transports`: tried in order within one attempt, each when the one before could
   * not be opened.
   */
  constructor({ url = location.origin, auth = () => ({}), transports = ["websocket", "polling"], backoff = new Backoff() } = {}) {
    super();
    this.#url = url.replace(/\/$/, "");
    this.#auth = auth;
    this.#transports = transports;
    this.#backoff = backoff;
    globalThis.addEventListener?.("online", () => {
      if (this.#active && !this.#transport) this.#open(0);
    });
  }

  /** The connection state, as last dispatched in "state". */
  get state() {
    return this.#state;
  }

  /** Whether a Socket.IO connection is up (the CONNECT was answered). */
  get connected() {
    return this.#connectedAt !== null;
  }

  /** Connects, or tries again at once when waiting to reconnect or after a CONNECT_ERROR. */
  connect() {
    this.#active = true;
    if (this.#transport) return;
    this.#setState(this.#state === "reconnecting" ? "reconnecting" : "connecting");
    this.#open(0);
  }

  /** Closes the connection and stops reconnecting until connect(). Queued emits are kept. */
  disconnect() {
    this.#active = false;
    clearTimeout(this.#timers.retry);
    if (this.#transport && this.connected) this.#transport.send([encodeSocket({ type: SIO.disconnect })]);
    this.#drop("io client disconnect", true);
    this.#pid = this.#offset = undefined;
    this.#setState("disconnected");
  }

  /** Sends an event; while disconnected it waits in a queue of at most QUEUE_MAX, oldest first. */
  emit(name, ...args) {
    const text = encodeSocket({ type: SIO.event, data: [name, ...args] });
    if (this.connected) return this.#transport.send([text]);
    if (this.#queue.length >= QUEUE_MAX) {
      this.#queue.shift();
      console.warn(`iorelay: ${QUEUE_MAX} emits already wait for a connection; the oldest was dropped`);
    }
    this.#queue.push(text);
  }

  /**
   * Sends an event with an ack request; resolves with the ack's first argument.
   * @throws {Error} (rejects) when not connected, when the connection is lost before the ack,
   * or when no ack came within `timeout` ms.
   */
  emitWithAck(name, arg, { timeout = 5000 } = {}) {
    return new Promise((resolve, reject) => {
      if (!this.connected) return reject(new Error(`${name}: not connected`));
      const id = this.#nextAckId++;
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        reject(new Error(`${name}: no ack within ${timeout} ms`));
      }, timeout);
      this.#acks.set(id, { timer, resolve, reject });
      this.#transport.send([encodeSocket({ type: SIO.event, ackId: id, data: [name, arg] })]);
    });
  }

  /**
   * emitWithAck, tried again up to `maxRetries` times after waiting `retryDelays[i]` ms (the last
   * delay repeats). Settles once, with the ack's value or the last failure, and calls
   * `onSuccess(value)` or `onFailure(error)` once.
   */
  async emitWithRetry(name, arg, { maxRetries = 3, retryDelays = [1000, 2000, 4000], timeout, onSuccess, onFailure } = {}) {
    this.#pendingEmissions++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const value = await this.emitWithAck(name, arg, { timeout });
          callSafely(onSuccess, value);
          return value;
        } catch (err) {
          if (attempt >= maxRetries) {
            callSafely(onFailure, err);
            throw err;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelays[Math.min(attempt, retryDelays.length - 1)]));
        this.#retryAttempts++;
      }
    } finally {
      this.#pendingEmissions--;
    }
  }

  /** The connection's health, times in seconds (one decimal), as the original design names them. */
  getConnectionMetrics() {
    const since = (t) => Math.round((performance.now() - t) / 100) / 10;
    return {
      isConnected: this.connected,
      uptime: this.connected ? since(this.#connectedAt) : 0,
      lastPing: this.#lastPingAt === null ? null : since(this.#lastPingAt),
      queuedEvents: this.#queue.length,
      pendingEmissions: this.#pendingEmissions,
      retryAttempts: this.#retryAttempts,
    };
  }

  // --- the connection -------------------------------------------------------------------------

  /** Opens the transport at `index` in the list; the CONNECT reply must come within the deadline. */
  #open(index) {
    clearTimeout(this.#timers.retry);
    const transport = openTransport(this.#transports[index], this.#url, {
      onPacket: (packet) => this.#transport === transport && this.#onPacket(packet),
      onClose: (reason) => {
        if (this.#transport !== transport) return;
        if (!transport.opened && index + 1 < this.#transports.length) return this.#open(index + 1);
        this.#lost(reason);
      },
    });
    this.#transport = transport;
    clearTimeout(this.#timers.handshake);
    this.#timers.handshake = setTimeout(() => this.#lost("connect timeout"), CONNECT_TIMEOUT_MS);
  }

  #onPacket({ type, data }) {
    switch (type) {
      case EIO.open:
        this.#heartbeat(data);
        this.#transport.send([encodeSocket({ type: SIO.connect, data: this.#connectAuth() })]);
        break;
      case EIO.ping:
        this.#lastPingAt = performance.now();
        this.#heartbeat();
        this.#transport.send([EIO.pong]);
        break;
      case EIO.close:
        this.#lost("transport close");
        break;
      case EIO.message:
        this.#onMessage(data);
        break;
      case EIO.binary:
        console.warn("iorelay: a binary packet was ignored");
        break;
    }
  }

  #connectAuth() {
    const auth = { ...this.#auth() };
    if (this.#pid !== undefined) {
      auth.pid = this.#pid;
      if (this.#offset !== undefined) auth.offset = this.#offset;
    }
    return auth;
  }

  /** Restarts stale detection: the next ping must come within pingInterval + pingTimeout. */
  #heartbeat(handshake) {
    if (handshake) this.#heartbeatMs = handshake.pingInterval + handshake.pingTimeout;
    clearTimeout(this.#timers.stale);
    this.#timers.stale = setTimeout(() => this.#lost("ping timeout"), this.#heartbeatMs);
  }

  #onMessage(text) {
    let packet;
    try {
      packet = decodeSocket(text);
    } catch (err) {
      return console.warn(`iorelay: a malformed packet was ignored (${err.message})`);
    }
    if (packet.type === SIO.binaryEvent || packet.type === SIO.binaryAck) return console.warn("iorelay: a binary packet was ignored");
    if (packet.nsp !== "/") return;
    switch (packet.type) {
      case SIO.connect:
        return this.#onConnect(packet.data ?? {});
      case SIO.connectError: {
        const { message = String(packet.data), data } = Object(packet.data);
        this.#active = false;
        this.#drop("connect error", true);
        return this.dispatch("connect_error", { message, data });
      }
      case SIO.disconnect:
        return this.#lost("io server disconnect");
      case SIO.event:
        return this.#onEvent(packet);
      case SIO.ack:
        return this.#onAck(packet);
      default:
        console.warn(`iorelay: a packet of type ${packet.type} was ignored`);
    }
  }

  #onConnect({ pid }) {
    clearTimeout(this.#timers.handshake);
    const recovered = pid !== undefined && pid === this.#pid;
    this.#pid = pid;
    this.#connectedAt = performance.now();
    this.#backoff.reset();
    this.#transport.send(this.#queue.splice(0));
    this.#setState("connected");
    this.dispatch("connect", { recovered });
  }

  #onEvent({ ackId, data }) {
    const [name, ...args] = Array.isArray(data) ? data : [];
    if (typeof name !== "string" || LIFECYCLE.has(name)) return;
    if (typeof args.at(-1) === "string") this.#offset = args.at(-1);
    if (ackId !== undefined) {
      let sent = false;
      args.push((...reply) => {
        if (!sent && this.connected) this.#transport.send([encodeSocket({ type: SIO.ack, ackId, data: reply })]);
        sent = true;
      });
    }
    this.dispatch(name, ...args);
  }

  #onAck({ ackId, data }) {
    const pending = this.#acks.get(ackId);
    if (!pending) return;
    this.#acks.delete(ackId);
    clearTimeout(pending.timer);
    pending.resolve(Array.isArray(data) ? data[0] : undefined);
  }

  /** The transport failed or went stale: drop it and try again after the backoff. */
  #lost(reason) {
    this.#drop(reason, false);
    if (!this.#active) return;
    this.#setState("reconnecting");
    this.#timers.retry = setTimeout(() => this.#open(0), this.#backoff.next());
  }

  /** Closes the transport; pending acks fail, and a connection that was up says "disconnect". */
  #drop(reason, tell) {
    clearTimeout(this.#timers.handshake);
    clearTimeout(this.#timers.stale);
    this.#transport?.close(tell);
    this.#transport = null;
    for (const { timer, reject } of this.#acks.values()) {
      clearTimeout(timer);
      reject(new Error(`connection lost: ${reason}`));
    }
    this.#acks.clear();
    if (!this.connected) return;
    this.#connectedAt = null;
    this.dispatch("disconnect", reason);
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.dispatch("state", state);
  }
}

function callSafely(fn, value) {
  try {
    fn?.(value);
  } catch (err) {
    report(err);
  }
}
