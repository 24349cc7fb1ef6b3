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

// --- Business hubs: live job progress -------------------------------------------------------
// The hub page's #hub-jobs section carries data-poll="/hubs/{id}/jobs.json" while a job is
// queued or running. Every 2 s this reads the feed and updates each job's state, progress and
// attempts; when a new job shows up or every job has finished, it reloads the page so the
// status, members and report are fresh. Without JS the section's "Refresh" link does the same.
(() => {
  const section = document.getElementById("hub-jobs");
  if (!section || !section.dataset.poll) return;
  const status = document.getElementById("hub-jobs-status");
  const setText = (row, sel, text) => {
    const el = row.querySelector(sel);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const tick = () => {
    fetch(section.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => {
        const type = r.headers.get("content-type") || "";
        return r.ok && type.startsWith("application/json") ? r.json() : Promise.reject(new Error(String(r.status)));
      })
      .then((feed) => {
        let unknown = false;
        for (const j of feed.jobs) {
          const row = section.querySelector(`tr[data-job="${j.id}"]`);
          if (!row) { unknown = true; continue; }
          if (row.dataset.state !== j.state) {
            row.dataset.state = j.state;
            const badge = row.querySelector(".job-state .badge");
            if (badge) { badge.textContent = j.state_label; badge.className = `badge state-${j.state}`; }
          }
          setText(row, ".job-progress", j.error || j.progress);
          setText(row, ".job-attempts", `${j.attempts}/${j.max_attempts}`);
          setText(row, ".job-updated", j.updated);
        }
        if (unknown || feed.active === 0) {
          if (status) status.textContent = "Jobs finished; reloading…";
          window.location.reload();
          return;
        }
        setTimeout(tick, 2000);
      })
      .catch(() => {
        if (status) status.textContent = "Live progress stopped. Use Refresh to see the latest state.";
      });
  };
  setTimeout(tick, 2000);
})();

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
