// "Needs attention": a Notification or PermissionRequest means an agent is waiting for its
// human. It stays raised until it is seen: the user acknowledges it (clicks it, or dismisses
// the banner), or its session shows later activity (the human already answered). Acknowledged
// ids are kept in sessionStorage, so a reload of the tab does not raise them again.

import { hookName } from "./summary.js";
import { compareOffsets } from "./store.js";

const KEY = "iorelay.seen";
/** How many acknowledged ids are remembered (the oldest are forgotten first). */
export const MAX_REMEMBERED = 500;

/** True for the events that raise attention. */
export function raisesAttention(event) {
  const name = hookName(event);
  return name === "Notification" || name === "PermissionRequest";
}

/** The raised events of the page, per session. */
export class Attention {
  #raised = new Map();
  #latest = new Map();
  #seen;
  #storage;

  /** `storage`: a Storage (sessionStorage on the page), or null to remember nothing. */
  constructor(storage) {
    this.#storage = storage;
    this.#seen = new Set(readList(storage));
  }

  /** Takes `event` into account: raises it, or clears what its session's activity answered. */
  add(event) {
    const session = event.session_id ?? "";
    if (raisesAttention(event)) {
      const latest = this.#latest.get(session);
      if (this.#seen.has(event.id) || (latest && compareOffsets(latest, event.offset) > 0)) return;
      this.#raised.set(event.id, event);
      return;
    }
    const latest = this.#latest.get(session);
    if (!latest || compareOffsets(event.offset, latest) > 0) this.#latest.set(session, event.offset);
    for (const [id, raised] of this.#raised) {
      if ((raised.session_id ?? "") === session && compareOffsets(event.offset, raised.offset) > 0) {
        this.#raised.delete(id);
      }
    }
  }

  /** Lowers `event` if it left the page. */
  forget(event) {
    this.#raised.delete(event.id);
  }

  /** Forgets what is raised (the acknowledgements stay). */
  clear() {
    this.#raised.clear();
    this.#latest.clear();
  }

  /** The user saw these events (ids): lowered now and after a reload. */
  acknowledge(ids) {
    for (const id of ids) {
      this.#raised.delete(id);
      this.#seen.delete(id);
      this.#seen.add(id);
    }
    const list = [...this.#seen].slice(-MAX_REMEMBERED);
    this.#seen = new Set(list);
    try {
      this.#storage?.setItem(KEY, JSON.stringify(list));
    } catch {
      // Storage full or disabled: acknowledgements last until the reload instead.
    }
  }

  /** Whether `event` is raised now. */
  isRaised(event) {
    return this.#raised.has(event.id);
  }

  /** The raised events, newest first. */
  raised() {
    return [...this.#raised.values()].sort((a, b) => compareOffsets(b.offset, a.offset));
  }
}

function readList(storage) {
  try {
    const list = JSON.parse(storage?.getItem(KEY) ?? "[]");
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}
