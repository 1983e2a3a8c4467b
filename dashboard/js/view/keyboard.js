// Keyboard navigation: j/k move the selection, / searches, Enter opens the details, Esc
// closes them (or leaves the field being typed in). Keys typed into a field are the field's,
// and Enter on a button is the button's.

/** Binds the keys to `actions`: `{next, previous, open, escape, search}`. */
export function bindKeys(actions) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const typing = e.target instanceof HTMLElement && e.target.closest("input, textarea, select, [contenteditable]");
    if (e.key === "Escape") {
      if (typing) e.target.blur();
      else actions.escape();
      return;
    }
    if (typing) return;
    if (e.key === "Enter" && e.target.closest?.("button, summary, a")) return;
    const action = { j: actions.next, k: actions.previous, Enter: actions.open, "/": actions.search }[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  });
}
