// A live "n of max characters" under every field with a length limit: templates/_forms.html
// marks each input and textarea whose WTForms field has Length(max=…) (or a maxlength) with
// data-char-counter and its maxlength. The visible count follows every keystroke; screen
// readers hear it once typing pauses (a separate polite live region), not at every key, and
// read the count with the field when it gets the focus. A static file: the CSP forbids
// inline scripts.
(function () {
  "use strict";
  var format = new Intl.NumberFormat("en-GB");
  var PAUSE_MS = 1000;

  function attach(field) {
    var max = parseInt(field.getAttribute("maxlength"), 10);
    if (!(max > 0) || document.getElementById(field.id + "-counter")) {
      return;
    }
    var counter = document.createElement("div");
    counter.className = "form-text char-counter";
    counter.id = field.id + "-counter";
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    counter.insertAdjacentElement("afterend", status);
    var described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    var timer = null;

    function text() {
      // Line breaks are sent as two characters (CR LF) but counted as one, as maxlength does.
      var used = field.value.replace(/\r\n/g, "\n").length;
      counter.classList.toggle("char-counter-near", used > max * 0.9);
      return format.format(used) + " of " + format.format(max) + " characters";
    }
    field.addEventListener("input", function () {
      counter.textContent = text();
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        if (status.textContent !== counter.textContent) {
          status.textContent = counter.textContent;
        }
      }, PAUSE_MS);
    });
    counter.textContent = text();
  }

  document.querySelectorAll("input[data-char-counter][maxlength], textarea[data-char-counter][maxlength]").forEach(attach);
})();
