// The import job page's progress bar: polls the job's JSON status while it runs, without reloading
// the page; once the job has finished, reloads once to show the final page (counts, rows to fix).
(function () {
  "use strict";
  const panel = document.getElementById("import-progress");
  if (!panel || panel.dataset.finished === "1") {
    return;
  }
  const url = panel.dataset.progressUrl;
  const bar = panel.querySelector("[data-bar]");
  const meter = panel.querySelector("[role=progressbar]");

  function show(status) {
    bar.style.width = status.percent + "%";
    meter.setAttribute("aria-valuenow", String(status.percent));
    panel.querySelectorAll("[data-field]").forEach(function (element) {
      const value = status[element.dataset.field];
      if (value !== undefined && value !== null) {
        element.textContent = String(value);
      }
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (status) {
        if (status) {
          show(status);
          if (status.finished) {
            window.location.reload();
            return;
          }
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }

  window.setTimeout(poll, 1000);
})();
