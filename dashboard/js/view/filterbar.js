// The filter bar: session, project, type (comma-separated) and free text. The first three
// apply when the field is committed (Enter, leaving it, or picking a suggestion), since each
// change asks the relay for history again; free text applies as the user types.

import { el } from "./dom.js";

/** How long typing must pause before the free-text filter applies, in milliseconds. */
const TYPING_MS = 150;

/** The form of filter fields. */
export class FilterBar {
  #timer = 0;
  #known = new Map();

  /** `onChange(filter)`: the user changed a field; `filter` is `{session, project, types, q}`. */
  constructor(form, { onChange }) {
    this.form = form;
    this.fields = {
      session: form.elements.session,
      project: form.elements.project,
      type: form.elements.type,
      q: form.elements.q,
    };
    const commit = () => {
      clearTimeout(this.#timer);
      onChange(this.read());
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      commit();
    });
    for (const name of ["session", "project", "type"]) this.fields[name].addEventListener("change", commit);
    this.fields.q.addEventListener("input", () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(commit, TYPING_MS);
    });
    form.querySelector("#f-clear").addEventListener("click", () => {
      this.write({ session: null, project: null, types: [], q: "" });
      commit();
    });
  }

  /** The filter the fields say. */
  read() {
    const text = (input) => input.value.trim();
    return {
      session: text(this.fields.session) || null,
      project: text(this.fields.project) || null,
      types: [...new Set(text(this.fields.type).split(",").map((t) => t.trim()).filter(Boolean))],
      q: text(this.fields.q),
    };
  }

  /** Writes `filter` into the fields (the URL's, on load). */
  write(filter) {
    this.fields.session.value = filter.session ?? "";
    this.fields.project.value = filter.project ?? "";
    this.fields.type.value = filter.types.join(",");
    this.fields.q.value = filter.q;
  }

  /** Offers `values` (strings) as suggestions in datalist `id`. */
  suggest(id, values) {
    const key = values.join("\n");
    if (this.#known.get(id) === key) return;
    this.#known.set(id, key);
    this.form.querySelector(`#${id}`).replaceChildren(...values.map((value) => el("option", { value })));
  }

  /** Puts the cursor in the free-text field. */
  focusSearch() {
    this.fields.q.focus();
    this.fields.q.select();
  }
}
