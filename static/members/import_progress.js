// The member import's progress bar: polls the job's JSON status every second until the job
// has finished, then shows its summary, error report and (after a check) the confirm button.
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
