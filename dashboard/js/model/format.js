// How times and durations read on the page: wall-clock times in the viewer's time zone, short
// durations and ages. Pure; callers pass "now" so the output is testable.

/** Milliseconds since the epoch of an ISO 8601 timestamp, or NaN. */
export function timeOf(iso) {
  return typeof iso === "string" ? Date.parse(iso) : NaN;
}

/** `14:03:22` in local time, or `--:--:--` for a missing time. */
export function clock(ms) {
  if (!Number.isFinite(ms)) return "--:--:--";
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map(pad2).join(":");
}

/** `850 ms`, `1.2 s`, `42 s`, `3 m 05 s`, `2 h 10 m`. */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${pad2(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad2(Math.floor(s / 60) % 60)} m`;
}

/** `now`, `12 s ago`, `5 m ago`, `3 h ago`, `2 d ago`. */
export function age(ms, now) {
  if (!Number.isFinite(ms)) return "";
  const s = Math.floor((now - ms) / 1000);
  if (s < 2) return "now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** The first 8 characters of an id: enough to tell sessions apart at a glance. */
export function shortId(id) {
  return typeof id === "string" && id.length > 8 ? id.slice(0, 8) : String(id ?? "");
}

function pad2(n) {
  return String(n).padStart(2, "0");
}
