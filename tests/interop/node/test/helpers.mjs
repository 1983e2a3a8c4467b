// Shared helpers for the socket.io-client interop suite: the server URL, clients that clean up
// after themselves, and waits that end on a condition or a deadline (never a fixed sleep).

import { spawn } from "node:child_process";
import net from "node:net";
import { io, Manager } from "socket.io-client";

/** Base URL of the server under test, e.g. `http://127.0.0.1:41234`. */
export const URL = process.env.IORELAY_URL;
if (!URL) throw new Error("IORELAY_URL is not set (run tests/interop/run.sh)");

/** Default deadline of one wait, in milliseconds. */
export const WAIT_MS = 5000;

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function deadline(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on `emitter`, or rejects at the deadline. */
export function next(emitter, event, ms = WAIT_MS) {
  let listener;
  const got = new Promise((resolve) => {
    listener = (...args) => resolve(args);
    emitter.once(event, listener);
  });
  return deadline(got, ms, `"${event}"`).finally(() => emitter.off(event, listener));
}

/** Polls `predicate` on every event-loop turn until it holds, or rejects at the deadline. */
export async function until(predicate, what, ms = WAIT_MS) {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Every non-reserved event a socket receives, queued per event name, so a test can wait for an
 * event that may already have arrived.
 */
export class Inbox {
  constructor(socket) {
    this.queues = new Map();
    this.waiters = new Map();
    this.all = [];
    socket.onAny((event, ...args) => this.push(event, args));
  }

  push(event, args) {
    this.all.push([event, ...args]);
    const waiters = this.waiters.get(event);
    if (waiters && waiters.length > 0) {
      waiters.shift()(args);
      return;
    }
    if (!this.queues.has(event)) this.queues.set(event, []);
    this.queues.get(event).push(args);
  }

  /** Arguments of the next unconsumed `event`, waiting up to `ms`. */
  next(event, ms = WAIT_MS) {
    const queued = this.queues.get(event);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift());
    let waiter;
    const got = new Promise((resolve) => {
      waiter = resolve;
      if (!this.waiters.has(event)) this.waiters.set(event, []);
      this.waiters.get(event).push(resolve);
    });
    return deadline(got, ms, `event "${event}"`).catch((err) => {
      const list = this.waiters.get(event) ?? [];
      const i = list.indexOf(waiter);
      if (i >= 0) list.splice(i, 1);
      throw err;
    });
  }

  /** Whether any `event` was received so far (consumed or not). */
  received(event) {
    return this.all.some(([name]) => name === event);
  }
}

/**
 * A socket of its own Manager (own Engine.IO connection) on `nsp`, disconnected when the test
 * ends. Reconnection is off unless `opts` turns it on.
 */
export function client(t, nsp = "/", opts = {}) {
  const socket = io(URL + nsp, { forceNew: true, reconnection: false, ...opts });
  const inbox = new Inbox(socket);
  t.after(() => socket.disconnect());
  return { socket, inbox };
}

/** A Manager (one Engine.IO connection for several namespaces), closed when the test ends. */
export function manager(t, opts = {}, url = URL) {
  const m = new Manager(url, { reconnection: false, ...opts });
  t.after(() => {
    for (const socket of Object.values(m.nsps)) socket.disconnect();
    if (m._readyState !== "closed") m._close();
  });
  return m;
}

/** A socket of `m` on `nsp` with its inbox. */
export function socketOf(m, nsp, opts = {}) {
  const socket = m.socket(nsp, opts);
  return { socket, inbox: new Inbox(socket) };
}

/** Waits for `socket` to connect and for its `auth` event; returns the auth payload. */
export async function connected(socket, inbox, ms = WAIT_MS) {
  if (!socket.connected) {
    let onConnect, onError;
    const outcome = new Promise((resolve, reject) => {
      onConnect = () => resolve();
      onError = (err) => reject(new Error(`connect_error: ${err?.message}`));
      socket.once("connect", onConnect);
      socket.once("connect_error", onError);
    });
    await deadline(outcome, ms, `"connect" on ${socket.nsp}`).finally(() => {
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    });
  }
  const [auth] = await inbox.next("auth", ms);
  return auth;
}

/** Emits with an ack and a client-side timeout; resolves `{ err, args }`. */
export function emitWithAckArgs(socket, ms, event, ...args) {
  return new Promise((resolve) => {
    socket.timeout(ms).emit(event, ...args, (err, ...answer) => resolve({ err, args: answer }));
  });
}

/** A TCP port on 127.0.0.1 free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The server command prefix, from IORELAY_SERVER_ARGV (a JSON array). */
export function serverArgv() {
  const raw = process.env.IORELAY_SERVER_ARGV;
  if (!raw) throw new Error("IORELAY_SERVER_ARGV is not set (run tests/interop/run.sh)");
  return JSON.parse(raw);
}

/**
 * Starts the server under test (`serve --conformance --port PORT ...extraArgs`) and resolves
 * once it printed its listening line. Returns `{ url, stop(signal) }`; `stop` resolves when the
 * process has exited. `relay: true` starts it as a relay (no `--conformance`); `env` adds
 * environment variables (a relay's IORELAY_DATA_DIR and IORELAY_STATE_DIR, say).
 */
export function startServer(port, extraArgs = [], ms = 10000, { relay = false, env = {} } = {}) {
  const [cmd, ...prefix] = serverArgv();
  const mode = relay ? [] : ["--conformance"];
  const args = [...prefix, "serve", ...mode, "--port", String(port), ...extraArgs];
  const proc = spawn(cmd, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    let buffered = "";
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (chunk) => {
      buffered += chunk;
      const m = /iorelay listening on (http:\/\/\S+)/.exec(buffered);
      if (m) resolve(m[1]);
    });
    proc.once("exit", (code, signal) =>
      reject(new Error(`server exited before listening (code ${code}, signal ${signal})`)),
    );
    proc.once("error", reject);
  });
  const stop = async (signal = "SIGTERM") => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill(signal);
    try {
      return await deadline(exited, 5000, "the server to exit");
    } catch {
      proc.kill("SIGKILL");
      return exited;
    }
  };
  return deadline(listening, ms, "the listening line").then(
    (url) => ({ url, stop }),
    async (err) => {
      await stop("SIGKILL");
      throw err;
    },
  );
}
