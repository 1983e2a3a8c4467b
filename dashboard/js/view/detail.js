// The detail pane: the selected event whole, as a collapsible JSON tree, with what the list
// line cannot hold (times, ids, the tool call's other half) and a button that copies the JSON.

import { duration } from "../model/format.js";
import { hookName, kindOf } from "../model/summary.js";
import { el } from "./dom.js";
import { jsonTree } from "./jsontree.js";

/** The pane at the right of the list. */
export class DetailPane {
  #event = null;
  #facts = null;

  /**
   * `pane`: its element; `ctx`: `summaryOf(event)` and `tools` (a ToolCalls); `onClose()`;
   * `onSelect(event)`: the user asked for the tool call's other event.
   */
  constructor(pane, { summaryOf, tools, onClose, onSelect }) {
    this.pane = pane;
    this.summaryOf = summaryOf;
    this.tools = tools;
    this.onClose = onClose;
    this.onSelect = onSelect;
  }

  /** The event shown, or null when the pane is closed. */
  get event() {
    return this.#event;
  }

  /** Opens the pane on `event`. */
  show(event) {
    this.#event = event;
    const copy = el("button", { type: "button", testid: "detail-copy", title: "copy the event as JSON" }, "Copy JSON");
    const copied = el("span", { class: "copied", testid: "detail-copied", role: "status" });
    copy.addEventListener("click", async () => {
      copied.textContent = (await copyText(JSON.stringify(event, null, 2))) ? "copied" : "copy failed";
    });
    const close = el("button", { type: "button", testid: "detail-close", title: "close (Esc)" }, "×");
    close.addEventListener("click", () => this.onClose());
    this.#facts = el("dl", {});
    this.pane.replaceChildren(
      el("header", {}, el("span", { class: "chip", "data-kind": kindOf(event) }, hookName(event)), el("span", { class: "grow" }), copied, copy, close),
      el("p", { class: "summary", testid: "detail-summary" }, this.summaryOf(event)),
      this.#facts,
      jsonTree(event),
    );
    this.refresh();
    this.pane.hidden = false;
    this.pane.parentElement.classList.add("detail-open");
    this.pane.scrollTop = 0;
  }

  /** Rewrites the facts if the tool call changed (it may have finished since the pane opened). */
  refresh() {
    const event = this.#event;
    if (!event) return;
    const call = this.tools.statusOf(event);
    const other = this.#otherHalf(event);
    const key = `${call?.status}/${call?.durationMs}/${other?.offset}`;
    if (this.#facts.dataset.call === key) return;
    this.#facts.dataset.call = key;
    const facts = [
      ["time", event.timestamp],
      ["received", event.received_at],
      ["session", event.session_id],
      ["project", event.project],
      ["cwd", event.cwd],
      ["agent", [event.agent_type, event.agent_id].filter(Boolean).join(" ")],
      ["offset", event.offset],
      ["id", event.id],
    ];
    if (call) facts.push(["tool call", [call.status, call.durationMs === null ? "" : duration(call.durationMs)].filter(Boolean).join(", ")]);
    const rows = facts.filter(([, value]) => value).flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, String(value))]);
    if (other) {
      const jump = el("button", { type: "button", testid: "detail-pair" }, `${hookName(other)} · offset ${other.offset}`);
      jump.addEventListener("click", () => this.onSelect(other));
      rows.push(el("dt", {}, "paired with"), el("dd", {}, jump));
    }
    this.#facts.replaceChildren(...rows);
  }

  /** Closes the pane. */
  close() {
    this.#event = null;
    this.pane.hidden = true;
    this.pane.parentElement.classList.remove("detail-open");
    this.pane.replaceChildren();
  }

  #otherHalf(event) {
    const call = this.tools.callOf(event);
    if (!call || !this.tools.statusOf(event)) return null;
    return call.pre === event ? call.post : call.pre;
  }
}

/** Copies `text` to the clipboard: the async Clipboard API, else a selected textarea (http on a LAN address is not a secure context). */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { readonly: true });
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}
