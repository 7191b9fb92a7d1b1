/* Draws every element with a data-figure attribute (a Plotly figure as JSON) using the locally served plotly.js. */
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    window.Plotly.newPlot(element, figure.data || [], figure.layout || {}, config);
  });
})();
