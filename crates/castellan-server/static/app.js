// Castellan web app: progressive enhancement only. Every page works without this file.
// Hand-written, no dependencies. Loaded with `defer` from /static/app.js (CSP: script-src 'self').
"use strict";

// Copy buttons: <button data-copy="#id"> copies the text of the element #id.
document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-copy]");
  if (!b) return;
  const el = document.querySelector(b.dataset.copy);
  if (!el || !navigator.clipboard) return;
  ev.preventDefault();
  navigator.clipboard.writeText(el.value || el.textContent.trim()).then(() => {
    const old = b.textContent;
    b.textContent = "Copied";
    setTimeout(() => { b.textContent = old; }, 1500);
  });
});
