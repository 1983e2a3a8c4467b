// The token form: when the relay answers the connection "unauthorized", the page asks for its
// token once (a small form, not window.prompt) and keeps it in sessionStorage for the tab.

const KEY = "iorelay.token";

/** The token kept for this tab, or null. */
export function savedToken() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/**
 * Shows `form` (saying `note`, e.g. that the last token was refused); when submitted, keeps the
 * token for the tab, hides the form and calls `onToken(token)`.
 */
export function askToken(form, note, onToken) {
  const input = form.elements[0];
  form.querySelector("#token-note").textContent = note;
  form.hidden = false;
  input.focus();
  form.onsubmit = (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    try {
      sessionStorage.setItem(KEY, token);
    } catch {
      // Storage disabled: the token lasts as long as this page.
    }
    form.hidden = true;
    input.value = "";
    onToken(token);
  };
}
