// The browser suites' harness: a relay binary under test, a cuttable TCP proxy in front of it,
// Debian's Chromium driven by playwright-core, and waits that end on a condition or a deadline.
//
// run.sh sets IORELAY_BINARY (the server under test) and IORELAY_LABEL (smol|std). Every relay
// gets its own data and state dirs under a scratch dir, listens on 127.0.0.1 port 0 (a restart
// keeps the port, so an open page reconnects to the same URL), and is stopped after its test.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

/** The relay binary under test. */
export const BINARY = process.env.IORELAY_BINARY;
if (!BINARY) throw new Error("IORELAY_BINARY is not set (run tests/browser/run.sh BINARY)");
/** `smol` or `std`: names screenshots. */
export const LABEL = process.env.IORELAY_LABEL ?? "smol";
/** Default deadline of one wait, in milliseconds. */
export const WAIT_MS = 10_000;
/** Where screenshots go (the test output; not committed). */
export const OUTPUT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "output");

const CHROMIUM = process.env.IORELAY_CHROMIUM ?? "/usr/bin/chromium";

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export function deadline(promise, ms, what) {
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Re-evaluates `fn` (sync or async) every 20 ms until it returns a truthy value, which it
 * resolves with; rejects at the deadline, naming `what` and the last value or error seen. */
export async function waitFor(fn, { ms = WAIT_MS, what = "a condition" } = {}) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${describe(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function describe(value) {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value)?.slice(0, 300);
  } catch {
    return String(value);
  }
}

// --- the relay ------------------------------------------------------------------------------------

/**
 * Starts the binary under test as a relay (`serve --port 0` plus `flags`, with `env` added) and
 * stops it after test `t`. Resolves once it printed its listening line.
 */
export async function startRelay(t, { flags = [], env = {} } = {}) {
  const scratch = mkdtempSync(path.join(tmpdir(), "iorelay-browser-"));
  const relay = new Relay(scratch, flags, env);
  t.after(async () => {
    await relay.stop();
    rmSync(scratch, { recursive: true, force: true });
  });
  await relay.start();
  return relay;
}

/** One relay process at a time, on a port that stays the same across restarts. */
class Relay {
  constructor(scratch, flags, env) {
    this.scratch = scratch;
    this.flags = flags;
    this.env = env;
    this.port = 0;
    this.url = "";
    this.child = null;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** Starts the process (on the port of the last run, if any) and waits for its listening line. */
  async start() {
    assert.equal(this.child, null, "the relay is already running");
    const args = ["serve", ...this.flags, "--port", String(this.port), "--host", "127.0.0.1"];
    const child = spawn(BINARY, args, {
      env: {
        ...process.env,
        IORELAY_DATA_DIR: path.join(this.scratch, "data"),
        IORELAY_STATE_DIR: path.join(this.scratch, "state"),
        IORELAY_LOG: process.env.IORELAY_LOG ?? "warn",
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => (this.stderr = (this.stderr + chunk).slice(-8192)));
    this.exited = new Promise((resolve) => child.once("exit", resolve));
    const listening = new Promise((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const m = /iorelay listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`relay exited (${code}): ${this.stderr}`)));
    });
    this.url = await deadline(listening, WAIT_MS, "the relay's listening line");
    this.port = Number(new URL(this.url).port);
  }

  /** SIGTERM (graceful: websockets get close 1001, the store is flushed); waits for the exit. */
  async stop() {
    await this.#end("SIGTERM");
  }

  /** SIGKILL: a crash. */
  async kill() {
    await this.#end("SIGKILL");
  }

  /** A graceful stop, then a start on the same port. */
  async restart() {
    await this.stop();
    await this.start();
  }

  async #end(signal) {
    const child = this.child;
    if (!child) return;
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      try {
        await deadline(this.exited, 5000, "the relay to exit");
      } catch {
        child.kill("SIGKILL");
        await this.exited;
      }
    }
    this.child = null;
  }

  /** POSTs `body` (JSON-encoded unless a string) to `path`; resolves `{status, body}`. */
  post(urlPath, body) {
    const data = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    return this.request("POST", urlPath, data);
  }

  /** POSTs one Claude Code hook object (or an array of them) to `/api/hooks`. */
  async hook(hookJson) {
    const reply = await this.post("/api/hooks", hookJson);
    assert.ok(reply.status === 204 || reply.status === 202, `POST /api/hooks: ${reply.status}`);
    return reply;
  }

  /** GETs `path`; resolves `{status, headers, body}` (body parsed when JSON). */
  get(urlPath, headers = {}) {
    return this.request("GET", urlPath, null, headers);
  }

  request(method, urlPath, data, headers = {}) {
    const sent = new Promise((resolve, reject) => {
      const req = http.request(
        `${this.url}${urlPath}`,
        {
          method,
          agent: this.agent,
          headers: data
            ? { "content-type": "application/json", "content-length": data.length, ...headers }
            : headers,
        },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed = text;
            if ((res.headers["content-type"] ?? "").includes("json") && text) parsed = JSON.parse(text);
            resolve({ status: res.statusCode, headers: res.headers, body: parsed });
          });
        },
      );
      req.on("error", reject);
      req.end(data ?? undefined);
    });
    return deadline(sent, WAIT_MS, `${method} ${urlPath}`);
  }
}

// --- a proxy that can cut the page off ----------------------------------------------------------

/**
 * A TCP proxy on 127.0.0.1 port 0 forwarding to `port`, closed after test `t`. The page connects
 * through it; the relay is untouched by what the proxy does:
 * - `drop()` cuts every open connection (a network drop: the relay sees a transport close);
 * - `block()` refuses new connections until `unblock()`;
 * - `freeze()` stops forwarding bytes (both ways) without closing, until `thaw()`: a stale link.
 */
export async function startProxy(t, port) {
  const pairs = new Set();
  const state = { blocked: false, frozen: false };
  const server = net.createServer((client) => {
    if (state.blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const forward = (from, to) =>
      from.on("data", (chunk) => {
        if (state.frozen) return;
        to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy = {
    url: `http://127.0.0.1:${server.address().port}`,
    /** How many proxied connections are open. */
    get open() {
      return pairs.size;
    },
    drop() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    block() {
      state.blocked = true;
    },
    unblock() {
      state.blocked = false;
    },
    freeze() {
      state.frozen = true;
    },
    thaw() {
      state.frozen = false;
    },
  };
  t.after(() => {
    proxy.drop();
    return new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}

// --- the browser ---------------------------------------------------------------------------------

let browser = null;

/** The suite's one Chromium (Debian's), launched on first use and closed when the process ends. */
async function theBrowser() {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  }
  return browser;
}

/** Closes the browser; call from a file's `after` hook. */
export async function closeBrowser() {
  if (browser) await browser.close();
  browser = null;
}

/**
 * Opens `url` in a fresh browser context (its own storage) and closes it after test `t`.
 * `errors` collects every uncaught page error and console error, as text: a test asserts it is
 * empty (see `assertNoErrors`).
 */
export async function openDashboard(t, url, { viewport = { width: 1400, height: 900 } } = {}) {
  const context = await (await theBrowser()).newContext({ viewport });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console.error: ${msg.text()}`);
  });
  await page.goto(url, { waitUntil: "load", timeout: WAIT_MS });
  return { page, errors, context };
}

/** Fails with every error the page reported, if any. */
export function assertNoErrors(errors) {
  assert.deepEqual(errors, [], `the page reported errors:\n${errors.join("\n")}`);
}

/** Writes a PNG of `page` to OUTPUT_DIR as `<label>-<name>.png`; resolves with its path. */
export async function screenshot(page, name) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = path.join(OUTPUT_DIR, `${LABEL}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// --- Claude Code hook JSON -----------------------------------------------------------------------

let serial = 0;
const nextId = (prefix) => `${prefix}-${process.pid}-${++serial}`;

/** What Claude Code gives a hook, by hook name; `extra` adds or overrides fields. */
export const hooks = {
  base(session, hookEventName, extra = {}) {
    return {
      session_id: session,
      transcript_path: `/home/dev/.claude/projects/shop/${session}.jsonl`,
      cwd: "/home/dev/shop",
      hook_event_name: hookEventName,
      id: nextId("evt"),
      ...extra,
    };
  },
  sessionStart(session, source = "startup", extra) {
    return hooks.base(session, "SessionStart", { source, ...extra });
  },
  prompt(session, prompt, extra) {
    return hooks.base(session, "UserPromptSubmit", { prompt, ...extra });
  },
  preTool(session, toolUseId, toolName, toolInput, extra) {
    return hooks.base(session, "PreToolUse", {
      tool_name: toolName,
      tool_input: toolInput,
      tool_use_id: toolUseId,
      ...extra,
    });
  },
  postTool(session, toolUseId, toolName, toolInput, toolResponse = {}, extra) {
    return hooks.base(session, "PostToolUse", {
      tool_name: toolName,
      tool_input: toolInput,
      tool_response: toolResponse,
      tool_use_id: toolUseId,
      ...extra,
    });
  },
  postToolFailure(session, toolUseId, toolName, toolInput, error, extra) {
    return hooks.base(session, "PostToolUseFailure", {
      tool_name: toolName,
      tool_input: toolInput,
      tool_use_id: toolUseId,
      error,
      ...extra,
    });
  },
  notification(session, message, extra) {
    return hooks.base(session, "Notification", { message, ...extra });
  },
  permission(session, toolName, toolInput, extra) {
    return hooks.base(session, "PermissionRequest", { tool_name: toolName, tool_input: toolInput, ...extra });
  },
  subagentStart(session, agentId, agentType, extra) {
    return hooks.base(session, "SubagentStart", { agent_id: agentId, agent_type: agentType, ...extra });
  },
  subagentStop(session, agentId, agentType, extra) {
    return hooks.base(session, "SubagentStop", { agent_id: agentId, agent_type: agentType, ...extra });
  },
  stop(session, extra) {
    return hooks.base(session, "Stop", { stop_hook_active: false, ...extra });
  },
  sessionEnd(session, reason = "prompt_input_exit", extra) {
    return hooks.base(session, "SessionEnd", { reason, ...extra });
  },
};
