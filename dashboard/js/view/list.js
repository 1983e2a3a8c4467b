// The live event list, newest first, virtualised: only the rows in view (plus a few) exist in
// the DOM, recycled as the user scrolls, so 10 000 events cost what 40 do. While the user is
// at the top the list follows new events; once they scroll back it holds still (new rows are
// added above without moving what they read) and a "N new" button jumps back to the top.

import { el, setText } from "./dom.js";

/** Rows drawn beyond the visible ones, above and below, so fast scrolling shows no blanks. */
const OVERSCAN = 8;

/** A virtual list of events over a scrolling element. */
export class EventList {
  #items = [];
  #newest = null;
  #rows = [];
  #selected = null;
  #pinned = true;
  #newCount = 0;
  #frame = 0;

  /**
   * `scroller`: the scrolling element; `pill`: the "N new" button; `createRow()` makes an
   * empty row element and `fillRow(row, event)` writes an event into it (both from row.js);
   * `onSelect(event)`: a row was clicked.
   */
  constructor(scroller, pill, { createRow, fillRow, onSelect }) {
    this.scroller = scroller;
    this.pill = pill;
    this.createRow = createRow;
    this.fillRow = fillRow;
    this.spacer = el("div", { class: "spacer", role: "list" });
    scroller.append(this.spacer);
    this.rowHeight = parseFloat(getComputedStyle(scroller).getPropertyValue("--row")) || 26;
    scroller.addEventListener("scroll", () => this.#onScroll(), { passive: true });
    new ResizeObserver(() => this.#schedule()).observe(scroller);
    pill.addEventListener("click", () => this.scrollToNewest());
    this.spacer.addEventListener("click", (e) => {
      const row = e.target.closest(".row");
      if (row?.event) onSelect(row.event);
    });
  }

  /** The selected event, or null. */
  get selected() {
    return this.#selected;
  }

  /** How many events the list shows. */
  get length() {
    return this.#items.length;
  }

  /**
   * Shows `items` (oldest first, as the store holds them) and redraws the visible rows. Rows
   * newer than the previous newest count as new: followed at the top, held still otherwise.
   */
  setItems(items) {
    let newer = 0;
    if (this.#newest) {
      const at = items.lastIndexOf(this.#newest);
      newer = at < 0 ? 0 : items.length - 1 - at;
    }
    this.#items = items;
    this.#newest = items[items.length - 1] ?? null;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    if (!this.#pinned && newer > 0) {
      this.scroller.scrollTop += newer * this.rowHeight;
      this.#newCount += newer;
    }
    if (this.#selected && !items.includes(this.#selected)) this.#selected = null;
    this.#updatePill();
    this.render();
  }

  /** Selects `event` (or nothing, for null) and brings it into view. */
  select(event) {
    this.#selected = event;
    if (event) this.#reveal(this.#indexOf(event));
    this.render();
  }

  /**
   * The event `delta` rows below the selection (older; negative: newer), stopping at either
   * end; with nothing selected, the newest. Null for an empty list.
   */
  neighbour(delta) {
    if (!this.#items.length) return null;
    const from = this.#selected ? this.#indexOf(this.#selected) : -1;
    const to = from < 0 ? 0 : Math.min(this.#items.length - 1, Math.max(0, from + delta));
    return this.#at(to);
  }

  /** Scrolls to the top, where the newest events are, and follows new ones again. */
  scrollToNewest() {
    this.scroller.scrollTop = 0;
    this.#pinned = true;
    this.#newCount = 0;
    this.#updatePill();
  }

  /** Redraws the rows in view (their events may have changed state: a tool call finished). */
  render() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    const height = this.rowHeight;
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / height) - OVERSCAN);
    const last = Math.min(this.#items.length, Math.ceil((top + this.scroller.clientHeight) / height) + OVERSCAN);
    while (this.#rows.length < last - first) {
      const row = this.createRow();
      this.#rows.push(row);
      this.spacer.append(row);
    }
    this.#rows.forEach((row, slot) => {
      const index = first + slot;
      if (index >= last) {
        row.hidden = true;
        row.event = null;
        return;
      }
      const event = this.#at(index);
      row.hidden = false;
      row.event = event;
      row.style.transform = `translateY(${index * height}px)`;
      row.classList.toggle("selected", event === this.#selected);
      this.fillRow(row, event);
    });
  }

  #at(index) {
    return this.#items[this.#items.length - 1 - index];
  }

  #indexOf(event) {
    const at = this.#items.lastIndexOf(event);
    return at < 0 ? -1 : this.#items.length - 1 - at;
  }

  #reveal(index) {
    if (index < 0) return;
    const top = index * this.rowHeight;
    const view = this.scroller;
    if (top < view.scrollTop) view.scrollTop = top;
    else if (top + this.rowHeight > view.scrollTop + view.clientHeight) {
      view.scrollTop = top + this.rowHeight - view.clientHeight;
    }
  }

  #onScroll() {
    this.#pinned = this.scroller.scrollTop < this.rowHeight / 2;
    if (this.#pinned) this.#newCount = 0;
    this.#updatePill();
    this.#schedule();
  }

  #schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => this.render());
  }

  #updatePill() {
    this.pill.hidden = this.#pinned || this.#newCount === 0;
    setText(this.pill, `↑ ${this.#newCount} new`);
  }
}
