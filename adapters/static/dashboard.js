// The dashboard's charts (adapters/portal/dashboard.py). Each <canvas data-chart="ID"> is drawn
// with Chart.js (vendor/chart.umd.min.js, loaded before this file) from the JSON block <script
// type="application/json" id="ID"> the page carries: data, never run, so the strict CSP stands.
// Every chart's numbers are in the table beside it; without this script the page is whole.
(function () {
  "use strict";

  var INK = "#1b2130";
  var GRID = "#dde1e8";

  function percentTick(value) {
    return value + "%";
  }

  function options(spec) {
    var valueAxis = spec.horizontal ? "x" : "y";
    var categoryAxis = spec.horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      stacked: spec.stacked,
      grid: { color: GRID },
      ticks: { color: INK, precision: 0 }
    };
    scales[categoryAxis] = {
      stacked: spec.stacked,
      grid: { display: false },
      // Sideways bars name each row (the box grows to fit them); days may skip a few labels.
      ticks: { color: INK, autoSkip: !spec.horizontal, maxRotation: 0 }
    };
    if (spec.percent) {
      scales[valueAxis].suggestedMax = 100;
      scales[valueAxis].ticks.callback = percentTick;
    }
    return {
      indexAxis: spec.horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 400 },
      scales: scales,
      plugins: {
        legend: { display: spec.legend, labels: { color: INK, boxWidth: 16 } },
        tooltip: {
          callbacks: spec.percent ? {
            label: function (item) {
              var name = item.dataset.label ? item.dataset.label + ": " : "";
              return name + (item.raw === null ? "no data" : item.raw + "%");
            }
          } : {}
        }
      }
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    var spec = JSON.parse(source.textContent);
    if (spec.horizontal) {
      // A row per label, two lines of text each at most (CSSOM, which the CSP allows).
      canvas.parentNode.style.height = Math.max(160, spec.data.labels.length * 46 + 50) + "px";
    }
    spec.data.datasets.forEach(function (set) {
      if (spec.type === "line") {
        set.borderWidth = 3;
        set.pointRadius = 3;
        set.tension = 0.2;
        set.fill = false;
      }
    });
    new window.Chart(canvas, { type: spec.type, data: spec.data, options: options(spec) });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof window.Chart !== "function") {
      return; // the library did not load: the tables still have every number
    }
    window.Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    window.Chart.defaults.font.size = 15;
    window.Chart.defaults.color = INK;
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
