/* Draws every element with a data-figure attribute (a Plotly figure as JSON) using the locally served plotly.js.
   The element gets the figure's height first, so Plotly never sizes a chart from an empty, shorter box. */
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    var layout = figure.layout || {};
    if (layout.height) {
      element.style.height = layout.height + "px";
    }
    window.Plotly.newPlot(element, figure.data || [], layout, config);
  });
})();
