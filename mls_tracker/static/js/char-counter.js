// A live "n of max characters" under each textarea marked data-char-counter (its maxlength
// is the limit). A static file: the CSP forbids inline scripts.
(function () {
  "use strict";
  var format = new Intl.NumberFormat("en-GB");
  document.querySelectorAll("textarea[data-char-counter][maxlength]").forEach(function (field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    var counter = document.createElement("div");
    counter.className = "form-text char-counter";
    counter.id = field.id + "-counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    function update() {
      // Line breaks are sent as two characters (CR LF) but counted as one, as the server does.
      var used = field.value.replace(/\r\n/g, "\n").length;
      counter.textContent = format.format(used) + " of " + format.format(max) + " characters";
      counter.classList.toggle("char-counter-near", used > max * 0.9);
    }
    field.addEventListener("input", update);
    update();
  });
})();
