// The header's events-per-second chart: one bar per bin over the last minutes, scaled to the
// busiest bin, with the current rate beside it as a number.

import { color, crispContext } from "./palette.js";
import { setAttr, setText } from "./dom.js";

const WIDTH = 150;
const HEIGHT = 24;

/**
 * Draws `bins` (events per second in bins of `binS` seconds, oldest first) on `canvas`, and
 * the current rate `now` (per second) in `label`.
 */
export function drawRate(canvas, label, bins, binS, now) {
  const ctx = crispContext(canvas, WIDTH, HEIGHT);
  const peak = Math.max(1, ...bins);
  const step = WIDTH / bins.length;
  ctx.fillStyle = color("--line");
  ctx.fillRect(0, HEIGHT - 1, WIDTH, 1);
  ctx.fillStyle = color("--accent");
  bins.forEach((value, i) => {
    if (value <= 0) return;
    const h = Math.max(1, Math.round((value / peak) * (HEIGHT - 2)));
    ctx.fillRect(i * step, HEIGHT - 1 - h, Math.max(1, step - 1), h);
  });
  setText(label, `${formatRate(now)}/s`);
  setAttr(canvas, "title", `events per second over the last ${Math.round((bins.length * binS) / 60)} minutes; peak ${formatRate(peak)}/s`);
}

function formatRate(value) {
  return value >= 10 ? String(Math.round(value)) : value.toFixed(1);
}
