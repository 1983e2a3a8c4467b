// Building DOM from text only. Every string from an event becomes a text node (textContent or
// createTextNode), never markup: a prompt of `<img src=x onerror=…>` shows those characters.

/**
 * A new `tag` element. `props`: `class`, `testid` (data-testid), `title`, any `data-*` or other
 * attribute (set with setAttribute, so as text); `children`: nodes or strings (text nodes).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "testid") node.setAttribute("data-testid", value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** Sets `node`'s text to `text` unless it already is (a DOM write costs more than a compare). */
export function setText(node, text) {
  const value = String(text ?? "");
  if (node.textContent !== value) node.textContent = value;
}

/** Sets or removes attribute `name` on `node` when it changes. */
export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
}

/** The element with id `id`; throws if the page lacks it (index.html and the code disagree). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node;
}
