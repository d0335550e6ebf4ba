// Moves the bar of every .job-progress block by polling its job's JSON status, and loads the
// block's done URL once the job has finished (succeeded or failed). No inline script: the CSP
// forbids them.
(function () {
  "use strict";

  function format(number) {
    return Number(number).toLocaleString("en-GB");
  }

  function watch(block) {
    var statusUrl = block.getAttribute("data-job-status-url");
    var doneUrl = block.getAttribute("data-job-done-url");
    var bar = block.querySelector(".job-progress-bar");
    var wrapper = block.querySelector(".progress");
    var figures = block.querySelector(".job-progress-figures");
    var message = block.querySelector(".job-progress-message");
    var delay = 400;

    function show(status) {
      var percent = status.percent;
      if (percent === null || percent === undefined) {
        bar.style.width = "100%";
        bar.classList.add("bg-secondary");
      } else {
        bar.style.width = percent + "%";
        bar.classList.remove("bg-secondary");
        wrapper.setAttribute("aria-valuenow", String(percent));
      }
      if (status.total) {
        figures.textContent = format(status.done) + " of " + format(status.total);
      }
      if (status.message) {
        message.textContent = status.message;
      }
    }

    function poll() {
      fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (status) {
          show(status);
          if (status.finished) {
            window.location.assign(doneUrl);
            return;
          }
          delay = Math.min(delay * 1.3, 2000);
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          message.textContent = "Lost contact with the server; retrying…";
          window.setTimeout(poll, 3000);
        });
    }

    bar.style.width = "0%";
    poll();
  }

  document.querySelectorAll(".job-progress[data-job-status-url]").forEach(watch);
})();
