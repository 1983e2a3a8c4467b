// The header's status: the connection state (from the client's "state" events), and what the
// relay's /health says every few seconds: its version and how many dashboards are connected.

import { setAttr, setText } from "./dom.js";

/** How often /health is asked, in milliseconds. */
const HEALTH_EVERY_MS = 5000;

const STATE_TEXT = {
  connecting: "connecting…",
  connected: "live",
  reconnecting: "reconnecting…",
  disconnected: "offline",
};

/** Shows client state `state` ("connecting" | "connected" | "reconnecting" | "disconnected"). */
export function showConnection(root, text, state) {
  setAttr(root, "data-state", state);
  setText(text, STATE_TEXT[state] ?? state);
}

/**
 * Polls `GET /health` now and every HEALTH_EVERY_MS, writing the version and the client count
 * (`sessions`: connected Socket.IO sessions) into `version` and `clients`. A failed poll keeps
 * the last values; the connection state already says the relay is away. Returns a function
 * that polls at once (after a connect the count changed).
 */
export function pollHealth({ version, clients }) {
  const poll = async () => {
    try {
      const reply = await fetch("/health", { cache: "no-store" });
      if (!reply.ok) return;
      const health = await reply.json();
      setText(version, health.version ? `v${health.version}` : "");
      const n = Number(health.sessions);
      setText(clients, Number.isFinite(n) ? `${n} client${n === 1 ? "" : "s"}` : "");
    } catch {
      // The relay is down or restarting; the next poll tries again.
    }
  };
  poll();
  setInterval(poll, HEALTH_EVERY_MS);
  return poll;
}
