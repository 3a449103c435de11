// The import job page's card: polls the job's JSON status while it runs and shows its one sentence
// (checking n of N, writing n of N) and the current pass's bar, without reloading the page; once the
// job has finished, reloads once to show the final page (counts, links, rows skipped and to fix).
(function () {
  "use strict";
  const panel = document.getElementById("import-progress");
  if (!panel || panel.dataset.finished === "1") {
    return;
  }
  const url = panel.dataset.progressUrl;
  const bar = panel.querySelector("[data-bar]");
  const meter = panel.querySelector("[role=progressbar]");
  const headline = panel.querySelector("[data-field=headline]");

  function show(status) {
    headline.textContent = status.headline;
    if (bar && meter) {
      bar.style.width = status.percent + "%";
      meter.setAttribute("aria-valuenow", String(status.percent));
    }
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
