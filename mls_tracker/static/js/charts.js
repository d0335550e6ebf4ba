/* Draws every chart of the page: each [data-chart] element names the id of a
   <script type="application/json"> block holding a plotly figure ({data, layout}).
   No inline script anywhere, so the Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  };

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || typeof window.Plotly === "undefined") {
      return;
    }
    var figure;
    try {
      figure = JSON.parse(source.textContent);
    } catch (error) {
      return;
    }
    var layout = figure.layout || {};
    if (element.clientWidth < 480 && layout.xaxis) {
      // On a phone, fewer month labels so that they do not overlap.
      layout.xaxis.nticks = 4;
    }
    element.classList.add("chart-drawn");
    window.Plotly.newPlot(element, figure.data || [], layout, CONFIG);
  }

  function drawAll() {
    var elements = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < elements.length; i += 1) {
      draw(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
