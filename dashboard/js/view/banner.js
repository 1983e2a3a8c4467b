// The "needs attention" banner and the tab title's count: shown while an agent waits for its
// human (a raised Notification or PermissionRequest), so a glance at the tab strip says so.

import { shortId } from "../model/format.js";
import { el } from "./dom.js";

/** The page title without a count. */
const TITLE = "iorelay";

/**
 * Shows `raised` (events, newest first) in `banner` and as `(n) iorelay` in the tab title.
 * `summaryOf(event)` gives each its line; `onShow(event)` and `onDismiss(events)` are the
 * banner's buttons.
 */
export function showAttention(banner, raised, { summaryOf, onShow, onDismiss }) {
  // Redrawn only when what is raised changed: a burst must not replace the buttons under the cursor.
  const key = raised.map((event) => event.id).join("\n");
  if (banner.dataset.shown === key) return;
  banner.dataset.shown = key;
  document.title = raised.length ? `(${raised.length}) ${TITLE}` : TITLE;
  banner.hidden = raised.length === 0;
  if (!raised.length) {
    banner.replaceChildren();
    return;
  }
  const [newest] = raised;
  const where = [newest.project, shortId(newest.session_id)].filter(Boolean).join(" · ");
  const show = el("button", { type: "button", testid: "attention-show" }, "Show");
  show.addEventListener("click", () => onShow(newest));
  const dismiss = el("button", { type: "button", testid: "attention-dismiss", title: "mark all as seen" },
    raised.length > 1 ? "Dismiss all" : "Dismiss");
  dismiss.addEventListener("click", () => onDismiss(raised));
  const count = raised.length > 1 ? `${raised.length} need attention` : "Needs attention";
  banner.replaceChildren(
    el("strong", {}, `⚑ ${count}`),
    el("span", { class: "what", testid: "attention-text" }, `${where}: ${summaryOf(newest)}`),
    show,
    dismiss,
  );
}
