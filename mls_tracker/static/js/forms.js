// What every form gets from templates/_forms.html, as progressive enhancement (the forms work
// without it): the error summary takes the focus when a post failed, its links focus their
// field, and each date box (data-date-input="date" | "datetime") gets a calendar button that
// opens the browser's own picker and writes the chosen day back as pages show dates:
// "4 Dec 2026" or "4 Dec 2026 14:30". A static file: the CSP forbids inline scripts.
(function () {
  "use strict";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var LONG = ["january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december"];

  // --- the error summary ---------------------------------------------------------------------

  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) {
        return;
      }
      event.preventDefault();
      // Show the field's label too, not just the box: its container when there is one.
      var box = document.getElementById(field.id + "-ctr") ||
        document.getElementById(field.id.replace(/-0$/, "") + "-ctr") || field;
      box.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
  }

  // --- dates -----------------------------------------------------------------------------------

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // "4 Dec 2026", "4 December 2026", "2026-12-04", with " 14:30" or "T14:30" for a moment,
  // as the native picker's value ("2026-12-04" / "2026-12-04T14:30"); "" when unreadable.
  function toIso(text) {
    var m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T,]+(\d{1,2})[:.](\d{2}))?/.exec(text);
    var year, month, day;
    if (m) {
      year = +m[1]; month = +m[2]; day = +m[3];
    } else {
      m = /^\s*(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})(?:[ T,]+(\d{1,2})[:.](\d{2}))?/.exec(text);
      if (!m) {
        return "";
      }
      var name = m[2].toLowerCase();
      month = name === "sept" ? 9 : LONG.findIndex(function (long) {
        return long === name || long.slice(0, 3) === name;
      }) + 1;
      year = +m[3]; day = +m[1];
    }
    if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31)) {
      return "";
    }
    var iso = year + "-" + pad(month) + "-" + pad(day);
    return m[4] ? iso + "T" + pad(+m[4]) + ":" + m[5] : iso;
  }

  // The picker's value as pages show it: "2026-12-04T14:30" → "4 Dec 2026 14:30".
  function shown(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}:\d{2}))?/.exec(value);
    if (!m) {
      return "";
    }
    var text = +m[3] + " " + MONTHS[+m[2] - 1] + " " + m[1];
    return m[4] ? text + " " + m[4] : text;
  }

  // The button says "Calendar" and is described by the field's label ("Due date"), so it
  // is "Calendar, Due date" to a screen reader, next to the box it fills.
  function describe(button, field) {
    var label = field.id && document.querySelector("label[for='" + field.id + "']");
    if (label) {
      label.id = label.id || field.id + "-label";
      button.setAttribute("aria-describedby", label.id);
    }
  }

  function enhance(field) {
    var kind = field.getAttribute("data-date-input");
    var picker = document.createElement("input");
    picker.type = kind === "datetime" ? "datetime-local" : "date";
    if (picker.type === "text" || typeof picker.showPicker !== "function") {
      return; // no native picker here: typing is the way
    }
    var box = field.parentElement;
    if (!box.classList.contains("date-input")) {
      box = document.createElement("div");
      box.className = "date-input date-input-" + kind;
      field.insertAdjacentElement("beforebegin", box);
      box.appendChild(field);
    }
    picker.className = "date-picker-native";
    picker.tabIndex = -1;
    picker.setAttribute("aria-hidden", "true");
    picker.title = "Date picker";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary date-picker-button";
    button.textContent = "Calendar";
    describe(button, field);
    box.appendChild(button);
    box.appendChild(picker);

    button.addEventListener("click", function () {
      var iso = toIso(field.value);
      // A day without its time yet opens the picker on that day, at 09:00 to change.
      picker.value = kind === "datetime" && iso && iso.indexOf("T") < 0 ? iso + "T09:00" : iso;
      try {
        picker.showPicker();
      } catch (error) {
        field.focus(); // refused (e.g. no user gesture): the box still takes typing
      }
    });
    picker.addEventListener("change", function () {
      var text = shown(picker.value);
      if (!text) {
        return;
      }
      field.value = text;
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
      field.focus();
    });
  }

  document.querySelectorAll("input[data-date-input]").forEach(enhance);
})();
