// Admin Insights: while an evaluation is queued or running, ask for its progress every 2 s,
// move the bar, and reload the page once it ends (to show the new report or the error).
// Without this script the page shows the progress as of its loading.
(function () {
  "use strict";
  const panel = document.getElementById("evaluation-progress");
  if (!panel) return;
  const bar = document.getElementById("evaluation-bar");
  const heading = document.getElementById("evaluation-heading");
  const text = document.getElementById("evaluation-text");
  const runId = Number(panel.dataset.run);
  const EVERY_MS = 2000;

  // The server words the progress (EvaluationRun.progress_text), as on the first page load; the
  // text is a live region that changes by whole tenths, the bar carries the exact count.
  function show(run) {
    if (run.status === "running" && run.total) {
      bar.max = run.total;
      bar.value = run.done;
    }
    const title = `Evaluation #${run.id} is ${run.status}`;
    if (heading.textContent !== title) heading.textContent = title;
    if (text.textContent !== run.text) text.textContent = run.text;
  }

  async function poll() {
    let body;
    try {
      const response = await fetch(panel.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      // A redirect means the session ended (the login page): say so rather than poll on.
      if (response.redirected) {
        text.textContent = "Your session has ended: reload the page to log in again.";
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      text.textContent = "Progress is unavailable for the moment; trying again…";
      window.setTimeout(poll, 2 * EVERY_MS);
      return;
    }
    if (!body.active || !body.run || body.run.id !== runId) {
      window.location.reload(); // finished (done or failed), or replaced by another run
      return;
    }
    show(body.run);
    window.setTimeout(poll, EVERY_MS);
  }

  window.setTimeout(poll, EVERY_MS);
})();
