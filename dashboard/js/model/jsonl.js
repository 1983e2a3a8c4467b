// Export of the events in view as JSON Lines: one canonical event per line, oldest first, the
// format `jq`, log tools and the relay's own /api/events (one line at a time) read.

/** The JSON Lines text of `events`, each line ending in `\n`. */
export function toJsonl(events) {
  return events.map((event) => `${JSON.stringify(event)}\n`).join("");
}

/** A file name for an export made at `ms`: `iorelay-events-20260106-140322.jsonl` (UTC). */
export function exportName(ms) {
  const stamp = new Date(ms).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `iorelay-events-${stamp}.jsonl`;
}
