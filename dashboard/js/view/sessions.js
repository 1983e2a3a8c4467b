// Sessions and their sub-agents as a tree of lanes: each session with its project, last
// activity and counts, and under it the sub-agents that ran in it; each with a timeline lane
// (tool calls as bars from start to end, other events as ticks) on one time axis shared by
// all lanes, so what ran in parallel lines up. Clicking a session filters the list to it.

import { age, duration, shortId } from "../model/format.js";
import { el, setText } from "./dom.js";
import { color, crispContext } from "./palette.js";

/** Sessions drawn at most (the most recently active); the rest are counted. */
const MAX_SHOWN = 60;
const LANE_HEIGHT = 12;

/** The sessions sidebar. */
export class SessionsPanel {
  #cards = new Map();

  /** `onPick({session, q})`: the user picked a session, or a sub-agent (`q`: its id). */
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;
    this.title = el("span", {}, "Sessions");
    this.span = el("span", { testid: "timeline-span" });
    this.more = el("div", { class: "more" });
    this.body = el("div", {});
    root.append(el("h2", {}, this.title, this.span), this.body, this.more);
  }

  /**
   * Shows `sessions` (Sessions.list()) with `lanes` (timelines()), the axis from `startMs` to
   * `nowMs`, `active`: the session filtered on, if any.
   */
  render(sessions, lanes, { startMs, nowMs, active }) {
    const span = Math.max(60_000, nowMs - startMs);
    const axis = { start: nowMs - span, span, now: nowMs };
    setText(this.title, `Sessions ${sessions.length}`);
    setText(this.span, sessions.length ? `lanes: last ${duration(span)}` : "");
    const shown = sessions.slice(0, MAX_SHOWN);
    const cards = new Map(shown.map((session) => [session.id, this.#cards.get(session.id) ?? this.#card(session.id)]));
    this.#cards = cards;
    const roots = [...cards.values()].map((card) => card.root);
    if (roots.some((node, i) => this.body.children[i] !== node) || this.body.children.length !== roots.length) {
      this.body.replaceChildren(...roots);
    }
    // Filled once in the page: a lane is as wide as the panel lays it out.
    for (const session of shown) this.#fill(cards.get(session.id), session, lanes, axis, nowMs, active === session.id);
    setText(this.more, sessions.length > MAX_SHOWN ? `${sessions.length - MAX_SHOWN} more, less recently active` : "");
    this.more.hidden = sessions.length <= MAX_SHOWN;
  }

  #card(id) {
    const card = {
      project: el("span", { class: "project" }),
      id: el("span", { class: "id" }, shortId(id) || "(no session)"),
      when: el("span", { class: "meta when" }),
      counts: el("div", { class: "counts" }),
      lane: el("canvas", { class: "lane" }),
      agents: el("div", {}),
    };
    card.root = el("div", { class: "session", testid: "session", "data-session": id, title: id },
      el("div", { class: "head" }, card.project, card.id, card.when), card.counts, card.lane, card.agents);
    card.root.addEventListener("click", (e) => {
      const agent = e.target.closest(".agent-row");
      this.onPick(agent ? { session: id, q: agent.dataset.agent } : { session: id, q: null });
    });
    return card;
  }

  #fill(card, session, lanes, axis, nowMs, active) {
    card.root.classList.toggle("active", active);
    setText(card.project, session.project ?? "(no project)");
    setText(card.when, age(session.lastMs, nowMs));
    card.counts.replaceChildren(...countsLine(session));
    drawLane(card.lane, lanes.get(session.id) ?? [], axis);
    card.agents.replaceChildren(...session.agents.map((agent) => {
      const lane = el("canvas", { class: "lane" });
      const row = el("div", { class: "agent-row", testid: "agent", "data-agent": agent.id, title: agent.id },
        el("div", { class: "head" },
          el("span", { class: "type" }, `↳ ${agent.type ?? "sub-agent"}`),
          el("span", { class: "id" }, shortId(agent.id)),
          el("span", { class: `state${agent.finished ? "" : " running"}` }, agent.finished ? "done" : "running"),
          el("span", { class: "meta when" }, age(agent.lastMs, nowMs))),
        el("div", { class: "counts" }, ...countsLine(agent)),
        lane);
      return row;
    }));
    for (const row of card.agents.children) {
      drawLane(row.lastChild, lanes.get(`${session.id}/${row.dataset.agent}`) ?? [], axis);
    }
  }
}

function countsLine({ events, prompts, tools, failures }) {
  const parts = [plural(events, "event")];
  if (prompts) parts.push(plural(prompts, "prompt"));
  if (tools) parts.push(plural(tools, "tool"));
  const line = [parts.join(" · ")];
  if (failures) line.push(" · ", el("span", { class: "bad" }, `${failures} failed`));
  return line;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Draws `marks` on a lane canvas: tool calls as bars, other events as ticks. */
function drawLane(canvas, marks, axis) {
  const width = canvas.clientWidth || 260;
  const ctx = crispContext(canvas, width, LANE_HEIGHT);
  ctx.fillStyle = color("--line");
  ctx.fillRect(0, LANE_HEIGHT / 2, width, 1);
  const x = (t) => ((t - axis.start) / axis.span) * width;
  for (const mark of marks) {
    if (mark.t < axis.start && (mark.end ?? axis.now) < axis.start) continue;
    ctx.fillStyle = color(`--${mark.kind}`);
    if (mark.end === mark.t) {
      const tall = mark.kind === "prompt" || mark.kind === "attention" || mark.kind === "failure";
      ctx.fillRect(Math.floor(x(mark.t)), tall ? 0 : 3, tall ? 2 : 1, tall ? LANE_HEIGHT : LANE_HEIGHT - 6);
    } else {
      const from = x(mark.t);
      const to = x(mark.end ?? axis.now);
      ctx.fillRect(from, 3, Math.max(2, to - from), LANE_HEIGHT - 6);
    }
  }
}
