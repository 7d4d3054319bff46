// The member import's progress bar: polls the job's JSON status every second until the job
// has finished, then shows its summary, error report and (after a check) the confirm button.
// While it runs it shows the last heartbeat's age, and a Retry button when the job is stuck
// (could not be queued, or its worker stopped beating).
(function () {
  "use strict";
  var root = document.getElementById("import-job");
  if (!root) {
    return;
  }
  var bar = root.querySelector(".import-progress");
  var fill = root.querySelector(".import-progress-bar");
  function show(job) {
    bar.setAttribute("aria-valuenow", String(job.progress));
    fill.style.width = job.progress + "%";
    document.getElementById("import-percent").textContent = job.progress + "%";
    document.getElementById("import-status").textContent = job.status_display;
    document.getElementById("import-message").textContent = job.message || "";
    document.getElementById("import-heartbeat").textContent = job.heartbeat || "-";
    var retry = document.getElementById("import-retry");
    if (job.retry_url) {
      retry.action = job.retry_url;
    }
    retry.hidden = !job.retry_url;
    var report = document.getElementById("import-report");
    if (job.report_url) {
      report.querySelector("a").href = job.report_url;
      report.hidden = false;
    }
    var confirm = document.getElementById("import-confirm");
    if (job.confirm_url) {
      confirm.action = job.confirm_url;
      confirm.hidden = false;
    }
    root.dataset.status = job.status;
    root.dataset.state = job.state;
  }
  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        show(job);
        if (!job.finished) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  show(JSON.parse(document.getElementById("import-initial").textContent));
  poll();
})();
