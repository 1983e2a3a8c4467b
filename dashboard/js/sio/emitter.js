// Named handlers for the client's and the feed's events. A handler that throws is reported as
// an uncaught error without stopping the other handlers or the code that dispatched.

/** Reports `err` as uncaught (the page's error handlers see it) and carries on. */
export function report(err) {
  queueMicrotask(() => {
    throw err;
  });
}

/** Handlers by event name; `dispatch` calls them in the order they were added. */
export class Emitter {
  #handlers = new Map();

  /** Calls `fn` with the arguments of every `name` event from now on. */
  on(name, fn) {
    if (!this.#handlers.has(name)) this.#handlers.set(name, new Set());
    this.#handlers.get(name).add(fn);
    return this;
  }

  /** Stops calling `fn` for `name`. */
  off(name, fn) {
    this.#handlers.get(name)?.delete(fn);
    return this;
  }

  /** Calls each handler of `name` with `args`. */
  dispatch(name, ...args) {
    for (const fn of [...(this.#handlers.get(name) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        report(err);
      }
    }
  }
}
