// The forecast chart: bars of the weighted pipeline and the won amount per month, the target
// as a line. Data from the json_script element "forecast-data" (no inline script: CSP).
(function () {
  "use strict";

  function init() {
    var canvas = document.getElementById("forecast-chart");
    var source = document.getElementById("forecast-data");
    if (!canvas || !source || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var names = document.getElementById("forecast-labels");
    var style = getComputedStyle(document.documentElement);
    function color(name, fallback) { return style.getPropertyValue(name).trim() || fallback; }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: names.getAttribute("data-weighted"), data: data.weighted,
            backgroundColor: color("--bs-primary", "#0d6efd") },
          { label: names.getAttribute("data-won"), data: data.won,
            backgroundColor: color("--bs-success", "#198754") },
          { label: names.getAttribute("data-target"), data: data.target, type: "line",
            borderColor: color("--bs-danger", "#dc3545"), backgroundColor: "transparent",
            spanGaps: true, pointRadius: 4 }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  // Progress bars take their width from data-width (the CSP forbids inline style attributes).
  function sizeBars() {
    document.querySelectorAll(".progress-bar[data-width]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("DOMContentLoaded", sizeBars);
})();
