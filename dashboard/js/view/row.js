// One event list row: time, where (project and session), what kind of event, the summary, and
// for tool calls their status and duration. Written with textContent only.

import { clock, duration, shortId } from "../model/format.js";
import { eventTime } from "../model/sessions.js";
import { hookName, kindOf } from "../model/summary.js";
import { el, setAttr, setText } from "./dom.js";

/** An empty row for the virtual list. */
export function createRow() {
  return el(
    "div",
    { class: "row", role: "listitem", testid: "event-row" },
    el("span", { class: "time" }),
    el("span", { class: "where" }),
    el("span", { class: "chip" }),
    el("span", { class: "summary" }, el("span", { class: "agent" }), el("span", { class: "text", testid: "summary" })),
    el("span", { class: "status", testid: "status" }),
  );
}

/**
 * Returns `fillRow(row, event)` for the list. `ctx`: `summaryOf(event)` (cached summaries),
 * `tools` (a ToolCalls) and `attention` (an Attention).
 */
export function rowFiller({ summaryOf, tools, attention }) {
  return (row, event) => {
    const [time, where, chip, summary, status] = row.children;
    const kind = kindOf(event);
    setAttr(row, "data-offset", event.offset);
    row.classList.toggle("raised", attention.isRaised(event));
    setText(time, clock(eventTime(event)));
    setText(where, [event.project, shortId(event.session_id)].filter(Boolean).join(" · "));
    setAttr(where, "title", `${event.project ?? ""} ${event.session_id ?? ""}`.trim());
    setAttr(chip, "data-kind", kind);
    setText(chip, hookName(event));
    const agent = event.agent_type ?? (event.agent_id ? shortId(event.agent_id) : "");
    setText(summary.firstChild, agent ? `↳ ${agent}` : "");
    summary.firstChild.hidden = !agent;
    setText(summary.lastChild, summaryOf(event));
    summary.classList.toggle("prose", kind === "prompt");
    const call = tools.statusOf(event);
    setAttr(status, "data-status", call?.status);
    setText(status, call ? statusText(call) : "");
  };
}

function statusText({ status, durationMs }) {
  const took = durationMs === null ? "" : duration(durationMs);
  if (status === "running") return "running…";
  if (status === "failed") return took ? `✗ failed · ${took}` : "✗ failed";
  return took ? `✓ ${took}` : "✓ ok";
}
