// The theme's colours for canvas drawing. CSS variables hold light-dark() pairs that only a
// real property resolves, so a hidden probe element takes each as its colour and reports the
// computed rgb(): one source of colours for CSS and canvas, in both themes.

let probe = null;
const cache = new Map();

/** The current value of CSS colour variable `name` (`--tool`) as an rgb() string. */
export function color(name) {
  if (!cache.has(name)) {
    if (!probe) {
      probe = document.createElement("span");
      probe.hidden = true;
      document.body.append(probe);
    }
    probe.style.color = `var(${name})`;
    cache.set(name, getComputedStyle(probe).color);
  }
  return cache.get(name);
}

/** Forgets resolved colours; call when the theme changes. */
export function resetPalette() {
  cache.clear();
}

/** Sizes `canvas` for the device pixel ratio; returns its 2D context in CSS pixels. */
export function crispContext(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
