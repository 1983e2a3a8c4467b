// The page: wires the client → feed → store → model → views. The feed delivers each event once;
// the store holds them and announces changes once per frame; each change updates the model
// (tool calls, sessions, attention, rate) and then the views, so a burst is one DOM update.

import { Client } from "./sio/client.js";
import { Feed } from "./feed.js";
import { Attention } from "./model/attention.js";
import { matches, parseQuery, sameServerFilter, serverFilter, toQuery } from "./model/filters.js";
import { exportName, toJsonl } from "./model/jsonl.js";
import { Rate } from "./model/rate.js";
import { eventTime, Sessions, timelines } from "./model/sessions.js";
import { compareOffsets, EventStore } from "./model/store.js";
import { summarize } from "./model/summary.js";
import { ToolCalls } from "./model/tools.js";
import { showAttention } from "./view/banner.js";
import { drawRate } from "./view/chart.js";
import { DetailPane } from "./view/detail.js";
import { byId, setText } from "./view/dom.js";
import { download } from "./view/download.js";
import { FilterBar } from "./view/filterbar.js";
import { pollHealth, showConnection } from "./view/header.js";
import { bindKeys } from "./view/keyboard.js";
import { EventList } from "./view/list.js";
import { resetPalette } from "./view/palette.js";
import { createRow, rowFiller } from "./view/row.js";
import { SessionsPanel } from "./view/sessions.js";
import { setupTheme } from "./view/theme.js";
import { askToken, savedToken } from "./view/tokenform.js";

/** The rate chart's bin, in seconds (5 minutes of 5 s bins). */
const RATE_BIN_S = 5;
/** How often the parts that age with the clock (chart, "12 s ago") redraw, in milliseconds. */
const TICK_MS = 1000;
/** The sessions panel redraws at most this often: its lanes read every held event. */
const SESSIONS_EVERY_MS = 250;

const config = await loadConfig();
let filter = parseQuery(location.search);
let token = savedToken();

// --- model ---------------------------------------------------------------------------------------

const store = new EventStore({ max: config.max_events, schedule: nextFrame });
const tools = new ToolCalls();
const sessions = new Sessions();
const attention = new Attention(sessionStorage);
const rate = new Rate({ windowS: 300 });
const summaries = new WeakMap();
const jsonTexts = new WeakMap();
/** The held events that pass the filter, oldest first: what the list shows. */
let visible = [];
let lastSessionsDraw = -Infinity;
let sessionsTimer = 0;

function summaryOf(event) {
  let line = summaries.get(event);
  if (line === undefined) summaries.set(event, (line = summarize(event)));
  return line;
}

function jsonOf(event) {
  let text = jsonTexts.get(event);
  if (text === undefined) jsonTexts.set(event, (text = JSON.stringify(event).toLowerCase()));
  return text;
}

const passes = (event) => matches(filter, event, summaryOf(event), jsonOf);

// --- views ---------------------------------------------------------------------------------------

const list = new EventList(byId("list"), byId("new-pill"), {
  createRow,
  fillRow: rowFiller({ summaryOf, tools, attention }),
  onSelect: (event) => select(event, { open: true }),
});
const detail = new DetailPane(byId("detail"), {
  summaryOf,
  tools,
  onClose: () => detail.close(),
  onSelect: (event) => select(event, { open: true }),
});
const sessionsPanel = new SessionsPanel(byId("sessions"), { onPick: pickSession });
const filterBar = new FilterBar(byId("filters"), { onChange: applyFilter });
filterBar.write(filter);

setupTheme(byId("theme"), () => {
  resetPalette();
  drawClockParts();
});
bindKeys({
  next: () => select(list.neighbour(+1), { open: detail.event !== null }),
  previous: () => select(list.neighbour(-1), { open: detail.event !== null }),
  open: () => list.selected && select(list.selected, { open: true }),
  escape: () => {
    if (detail.event) detail.close();
    else if (list.selected) list.select(null);
    else if (filter.q) applyFilter({ ...filter, q: "" }, { writeBar: true });
  },
  search: () => filterBar.focusSearch(),
});
byId("export").addEventListener("click", () => download(exportName(Date.now()), toJsonl(visible)));
setText(byId("version"), config.version ? `v${config.version}` : "");
const pollNow = pollHealth({ version: byId("version"), clients: byId("clients") });

// --- the connection ------------------------------------------------------------------------------

const client = new Client({
  url: location.origin,
  // Asked on every connect attempt, after `feed` exists: the feed's filter and limit, our token.
  auth: () => ({ ...feed.auth(), ...(token ? { token } : {}) }),
});
const feed = new Feed(client, { maxEvents: config.max_events, filter: serverFilter(filter) });
window.iorelay = client;

client.on("state", (state) => showConnection(byId("conn"), byId("conn-text"), state));
client.on("connect", () => pollNow());
client.on("connect_error", ({ message }) => {
  if (message !== "unauthorized") return console.warn(`iorelay: connection refused: ${message}`);
  showConnection(byId("conn"), byId("conn-text"), "token needed");
  askToken(byId("token-form"), token ? "That token was refused." : "", (entered) => {
    token = entered;
    client.connect();
  });
});
feed.on("events", (events) => store.add(events));
feed.on("reset", () => store.clear());
store.onChange(update);
client.connect();
setInterval(drawClockParts, TICK_MS);

// --- updates -------------------------------------------------------------------------------------

/** Applies one batch of store changes to the model, then redraws the views once. */
function update({ added, evicted, reset }) {
  if (reset) {
    tools.clear();
    sessions.clear();
    attention.clear();
    rate.clear();
    visible = [];
    list.scrollToNewest();
  }
  for (const event of evicted) {
    tools.forget(event);
    sessions.forget(event);
    attention.forget(event);
  }
  for (const event of added) {
    tools.add(event);
    sessions.add(event);
    attention.add(event);
    rate.add(event);
  }
  refilter({ added, evicted, reset });
  detail.refresh();
  drawAttention();
  drawRateChart();
  drawSessions();
}

/**
 * Brings `visible` up to date: the evicted leave its front and newer events are appended; a
 * back-filled older page, a reset or a new filter (`all`) filters the store again.
 */
function refilter({ added = [], evicted = [], reset = false, all = false } = {}) {
  const newestShown = visible[visible.length - 1];
  const appendOnly = !all && !reset && (!newestShown || !added.length || compareOffsets(added[0].offset, newestShown.offset) > 0);
  if (appendOnly) {
    const gone = new Set(evicted);
    let from = 0;
    while (from < visible.length && gone.has(visible[from])) from++;
    visible = visible.slice(from).concat(added.filter(passes));
  } else {
    visible = store.events.filter(passes);
  }
  list.setItems(visible);
  byId("empty").hidden = store.events.length > 0;
  const total = store.events.length;
  const noun = total === 1 ? "event" : "events";
  setText(byId("count"), visible.length === total ? `${total} ${noun}` : `${visible.length} of ${total} ${noun}`);
}

/** Selects `event` (null: nothing); `open` shows it in the detail pane. Selecting is seeing. */
function select(event, { open }) {
  list.select(event);
  if (!event) return;
  if (open) detail.show(event);
  if (attention.isRaised(event)) {
    attention.acknowledge([event.id]);
    drawAttention();
    list.render();
  }
}

/** Applies a filter from the bar (or a session click): the URL, the relay's part, the list. */
function applyFilter(next, { writeBar = false } = {}) {
  const previous = filter;
  filter = next;
  if (writeBar) filterBar.write(filter);
  history.replaceState(null, "", `${location.pathname}${toQuery(filter, location.search)}${location.hash}`);
  if (!sameServerFilter(previous, filter)) {
    feed.setFilter(serverFilter(filter));
  } else {
    refilter({ all: true });
  }
  drawSessions();
}

/** A click in the sessions panel: a session toggles its filter, a sub-agent filters to its id. */
function pickSession({ session, q }) {
  if (q) return applyFilter({ ...filter, session, q }, { writeBar: true });
  const off = filter.session === session && !filter.q;
  applyFilter({ ...filter, session: off ? null : session, q: "" }, { writeBar: true });
}

function drawAttention() {
  showAttention(byId("attention"), attention.raised(), {
    summaryOf,
    onShow: (event) => {
      if (!visible.includes(event)) applyFilter({ ...filter, q: "" }, { writeBar: true });
      select(event, { open: true });
    },
    onDismiss: (events) => {
      attention.acknowledge(events.map((e) => e.id));
      drawAttention();
      list.render();
    },
  });
}

/** Redraws the sessions panel now, or when SESSIONS_EVERY_MS have passed since the last time. */
function drawSessions() {
  if (sessionsTimer) return;
  const wait = lastSessionsDraw + SESSIONS_EVERY_MS - performance.now();
  if (wait > 0) {
    sessionsTimer = setTimeout(() => {
      sessionsTimer = 0;
      drawSessions();
    }, wait);
    return;
  }
  lastSessionsDraw = performance.now();
  const events = store.events;
  const all = sessions.list();
  sessionsPanel.render(all, timelines(events), {
    startMs: events.length ? eventTime(events[0]) : Date.now(),
    nowMs: Date.now(),
    active: filter.session,
  });
  filterBar.suggest("known-sessions", all.map((s) => s.id).filter(Boolean));
  filterBar.suggest("known-projects", [...new Set(all.map((s) => s.project).filter(Boolean))].sort());
  filterBar.suggest("known-types", [...new Set(events.slice(-2000).map((e) => e.subtype).filter(Boolean))].sort());
}

function drawRateChart() {
  const now = Date.now();
  drawRate(byId("rate-chart"), byId("rate-text"), rate.series(now, RATE_BIN_S), RATE_BIN_S, rate.perSecond(now));
}

/** What changes with the clock alone: the rate chart, and ages in the sessions panel. */
function drawClockParts() {
  drawRateChart();
  drawSessions();
}

// --- helpers -------------------------------------------------------------------------------------

/** `/assets/config.json` (`{version, max_events}`), or defaults if it cannot be read. */
async function loadConfig() {
  try {
    const reply = await fetch("/assets/config.json", { cache: "no-store" });
    const body = await reply.json();
    return { version: body.version ?? "", max_events: Number(body.max_events) > 0 ? Number(body.max_events) : 10_000 };
  } catch {
    return { version: "", max_events: 10_000 };
  }
}

/**
 * Runs `fn` at the next animation frame, or within 250 ms when the tab is hidden (it gets no
 * frames then, and the tab title must still count what needs attention).
 */
function nextFrame(fn) {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    fn();
  };
  requestAnimationFrame(once);
  setTimeout(once, 250);
}
