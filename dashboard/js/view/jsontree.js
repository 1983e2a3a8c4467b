// A JSON value as a collapsible tree: objects and arrays are <details> elements (native
// open/close, keyboard included), built lazily on first open so a huge tool response costs
// nothing until someone looks at it. Keys and values are text nodes.

import { el } from "./dom.js";

/** Children shown per object or array before a "… N more" line. */
const MAX_CHILDREN = 500;

/** The tree of `value`, its first `openDepth` levels open. */
export function jsonTree(value, { openDepth = 3 } = {}) {
  return el("div", { class: "json", testid: "json-tree" }, node(null, value, 0, openDepth));
}

function node(key, value, depth, openDepth) {
  if (value === null || typeof value !== "object") {
    return el("div", { class: "leaf" }, ...label(key), scalar(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const hint = Array.isArray(value) ? `[${plural(entries.length, "item")}]` : `{${plural(entries.length, "key")}}`;
  const details = el("details", {}, el("summary", {}, ...label(key), el("span", { class: "hint" }, hint)));
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    for (const [k, v] of entries.slice(0, MAX_CHILDREN)) details.append(node(k, v, depth + 1, openDepth));
    if (entries.length > MAX_CHILDREN) {
      details.append(el("div", { class: "leaf hint" }, `… ${entries.length - MAX_CHILDREN} more`));
    }
  };
  if (depth < openDepth) {
    details.open = true;
    build();
  } else {
    details.addEventListener("toggle", build, { once: true });
  }
  return details;
}

function label(key) {
  return key === null ? [] : [el("span", { class: "key" }, String(key)), ": "];
}

function scalar(value) {
  if (typeof value === "string") return el("span", { class: "string" }, `"${value}"`);
  return el("span", { class: value === null ? "null" : typeof value }, String(value));
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
