// The key messages' counter on the review page: messages (one a line) and the longest one's
// characters against their limits, as the lead types. No inline script (CSP).
(function () {
  "use strict";
  function update(area, out) {
    var most = parseInt(area.getAttribute("data-lines-max"), 10);
    var chars = parseInt(area.getAttribute("data-line-chars"), 10);
    var lines = area.value.split("\n").map(function (l) { return l.trim(); })
      .filter(function (l) { return l.length > 0; });
    var longest = lines.reduce(function (m, l) { return Math.max(m, l.length); }, 0);
    out.textContent = lines.length + " of " + most + " messages · longest " + longest +
      " of " + chars + " characters";
    out.classList.toggle("text-danger", lines.length > most || longest > chars);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var area = document.querySelector("textarea[data-lines-max]");
    var out = document.getElementById("key_messages-count");
    if (!area || !out) { return; }
    area.addEventListener("input", function () { update(area, out); });
    update(area, out);
  });
})();
