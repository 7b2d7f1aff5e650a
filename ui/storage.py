"""Storage in memory for the chat and embed pages where the browser denies them their own.

Framed by another site (a wiki on another domain framing `/embed/`), the pages are third-party,
and browsers that block third-party storage (Safari, Firefox in strict mode, Chrome with
third-party cookies blocked) make reading `window.localStorage` there throw a SecurityError.
Gradio's `gr.BrowserState` reads it unguarded when it mounts, and the uncaught error stops the
whole app: no welcome message, and answers never show.

`MEMORY_STORAGE` goes in the pages' `head`. Gradio's front end runs head scripts when it has
loaded the page's config and before it mounts the components (its own earlier reads of storage
are guarded), so BrowserState finds, in place of the denied storage, an object with the same
methods that keeps its items in memory: everything works, and the conversation is forgotten on
reload. The `nd-no-storage` class it puts on `<html>` shows `STORAGE_NOTE`, saying so.

Where storage is allowed the script changes nothing.
"""

from __future__ import annotations

STORAGE_NOTE = (
    '<p class="nd-storage-note">Your browser doesn\'t let this page keep the conversation here: '
    "reloading starts a new one.</p>"
)

# Window's storage attributes are configurable own properties, so they can be redefined; if a
# browser refused, the page would be no worse off than without the script.
MEMORY_STORAGE = """<script>
(() => {
  const memory = () => {
    const items = new Map();
    return {
      get length() { return items.size; },
      key: (i) => Array.from(items.keys())[i] ?? null,
      getItem: (k) => (items.has(String(k)) ? items.get(String(k)) : null),
      setItem: (k, v) => { items.set(String(k), String(v)); },
      removeItem: (k) => { items.delete(String(k)); },
      clear: () => { items.clear(); },
    };
  };
  let denied = false;
  for (const name of ["localStorage", "sessionStorage"]) {
    try {
      void window[name];
    } catch {
      try {
        Object.defineProperty(window, name, { value: memory(), configurable: true });
        denied = true;
      } catch {}
    }
  }
  if (denied) document.documentElement.classList.add("nd-no-storage");
})();
</script>"""
