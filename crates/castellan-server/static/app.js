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

// --- Account page: the 2FA code's countdown (web/accounts.rs) ---
// <span id="totp-countdown" data-seconds="N" data-code-url="…"> counts down each second; at 0 it
// fetches the next code from the JSON endpoint (same session cookie) and updates #totp-code.
// Without this script the page shows the code and the seconds left when it was rendered.
(() => {
  const countdown = document.getElementById("totp-countdown");
  const codeEl = document.getElementById("totp-code");
  if (!countdown || !codeEl || !countdown.dataset.codeUrl) return;
  let left = Number(countdown.dataset.seconds) || 0;
  let fetching = false;
  const refresh = () => {
    fetching = true;
    fetch(countdown.dataset.codeUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => {
        const type = r.headers.get("content-type") || "";
        return r.ok && type.startsWith("application/json") ? r.json() : Promise.reject(new Error(String(r.status)));
      })
      .then((c) => {
        codeEl.textContent = c.code;
        left = Number(c.seconds_remaining) || 0;
        countdown.textContent = String(left);
        fetching = false;
      })
      .catch(() => {
        clearInterval(timer);
        countdown.textContent = "0";
        codeEl.classList.add("stale");
        codeEl.setAttribute("title", "Reload the page for a fresh code");
      });
  };
  const timer = setInterval(() => {
    if (fetching) return;
    left -= 1;
    if (left <= 0) {
      countdown.textContent = "0";
      refresh();
      return;
    }
    countdown.textContent = String(left);
  }, 1000);
})();
