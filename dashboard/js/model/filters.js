// The view's filter and its URL form `?session=…&project=…&type=…&q=…`, so a view can be
// bookmarked and shared. `session`, `project` and `type` also go to the relay (the feed asks
// for history and live events filtered the same way); `q` is free text matched here, against
// an event's summary and its JSON.

/** A filter: `{session, project, types, q}`; empty fields (null, []) match everything. */
export function emptyFilter() {
  return { session: null, project: null, types: [], q: "" };
}

/** The filter in a URL query string (`location.search`). `type` may be comma-separated or repeated. */
export function parseQuery(search) {
  const params = new URLSearchParams(search);
  const types = params
    .getAll("type")
    .flatMap((value) => value.split(","))
    .map((type) => type.trim())
    .filter(Boolean);
  return {
    session: params.get("session")?.trim() || null,
    project: params.get("project")?.trim() || null,
    types: [...new Set(types)],
    q: params.get("q")?.trim() ?? "",
  };
}

/** The query string for `filter` (`""` when it filters nothing), other parameters kept from `base`. */
export function toQuery(filter, base = "") {
  const params = new URLSearchParams(base);
  for (const key of ["session", "project", "type", "q"]) params.delete(key);
  if (filter.session) params.set("session", filter.session);
  if (filter.project) params.set("project", filter.project);
  if (filter.types.length) params.set("type", filter.types.join(","));
  if (filter.q) params.set("q", filter.q);
  const query = params.toString();
  return query ? `?${query}` : "";
}

/**
 * The part the relay applies, in the feed's form `{session, project, type}` (type: comma-
 * separated, or null). A hook name given as a type (`PreToolUse`) is sent as the subtype the
 * relay matches (`pre_tool_use`).
 */
export function serverFilter(filter) {
  const types = [...new Set(filter.types.map(relayType))];
  return { session: filter.session, project: filter.project, type: types.length ? types.join(",") : null };
}

/** Whether the relay-side parts of two filters are the same (no need to ask the relay again). */
export function sameServerFilter(a, b) {
  return a.session === b.session && a.project === b.project && a.types.join(",") === b.types.join(",");
}

/**
 * Whether `event` passes `filter`. `summary` is its summary line; `json(event)` its JSON text,
 * lower-cased (the caller caches it). A type matches the event's `type` or `subtype`, as on the
 * relay; `q` matches when every word appears (case-insensitive).
 */
export function matches(filter, event, summary, json) {
  if (filter.session && event.session_id !== filter.session) return false;
  if (filter.project && event.project !== filter.project) return false;
  if (filter.types.length && !filter.types.some((type) => typeMatches(type, event))) return false;
  if (!filter.q) return true;
  const text = summary.toLowerCase();
  return words(filter.q).every((word) => text.includes(word) || json(event).includes(word));
}

function typeMatches(type, event) {
  const wanted = relayType(type);
  return wanted === event.type || wanted === event.subtype;
}

/** A type as the relay matches it: names with capitals in the relay's snake case, others as given. */
function relayType(type) {
  return /[A-Z]/.test(type) ? snakeCase(type) : type;
}

/** The relay's snake case (core/src/relay/ingest.rs `snake_case`): `PreToolUse` → `pre_tool_use`. */
export function snakeCase(name) {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    const prev = name[i - 1] ?? "";
    const next = name[i + 1] ?? "";
    if (c === "-" || c === " " || c === ".") {
      out += "_";
    } else if (isUpper(c)) {
      const startsWord = isLower(prev) || /[0-9]/.test(prev) || (isUpper(prev) && isLower(next));
      if (startsWord && !out.endsWith("_")) out += "_";
      out += c.toLowerCase();
    } else {
      out += c;
    }
  }
  return out;
}

function isUpper(c) {
  return c !== "" && c !== c.toLowerCase() && c === c.toUpperCase();
}

function isLower(c) {
  return c !== "" && c !== c.toUpperCase() && c === c.toLowerCase();
}

function words(q) {
  return q.toLowerCase().split(/\s+/).filter(Boolean);
}
