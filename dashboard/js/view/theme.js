// Light and dark themes: the system's (prefers-color-scheme) until the user toggles, then
// theirs, remembered in localStorage. The theme is `data-theme` on <html>; the CSS does the rest.

const KEY = "iorelay.theme";

/** The theme in force: the remembered one, else the system's. */
function currentTheme() {
  const saved = safeGet();
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/**
 * Applies the theme, keeps `button` saying what it switches to, and follows the system while
 * the user has not chosen. `onChange(theme)` runs after each change (canvases redraw).
 */
export function setupTheme(button, onChange) {
  const apply = (theme) => {
    document.documentElement.dataset.theme = theme;
    button.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
    button.setAttribute("aria-label", `switch to the ${theme === "dark" ? "light" : "dark"} theme`);
    onChange(theme);
  };
  apply(currentTheme());
  button.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // Storage disabled: the choice lasts until the reload.
    }
    apply(next);
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    if (!safeGet()) apply(currentTheme());
  });
}

function safeGet() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
