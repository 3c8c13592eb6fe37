// The staff portal's small enhancements; every page works without them.
// - A date picker or a select in a form marked .js-autosubmit shows its choice at once.
// - A submitted form's buttons are disabled, so a double click books, moves or cancels once.
// - On today's schedule the grid scrolls to the current time.
(function () {
  "use strict";

  function autosubmit(form) {
    form.querySelectorAll("input[type=date], select").forEach(function (field) {
      field.addEventListener("change", function () {
        if (field.type === "date" && !field.value) {
          return; // half-typed: wait for the whole date
        }
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        } else {
          form.submit();
        }
      });
    });
  }

  function submitOnce(form) {
    form.addEventListener("submit", function () {
      // After this turn of the event loop, so the clicked button's value is still sent.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.disabled = true;
        });
      }, 0);
    });
  }

  function scrollToNow() {
    var scroller = document.querySelector(".grid-scroll[data-now-row]");
    if (!scroller) {
      return;
    }
    var row = scroller.querySelector("tbody tr:nth-child(" + scroller.dataset.nowRow + ")");
    if (row && scroller.scrollHeight > scroller.clientHeight) {
      scroller.scrollTop = Math.max(0, row.offsetTop - scroller.clientHeight / 3);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.js-autosubmit").forEach(autosubmit);
    document.querySelectorAll("form[method=post]").forEach(submitOnce);
    scrollToNow();
  });

  // Back to a page kept in the browser's memory: its buttons work again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[type=submit][disabled]").forEach(function (button) {
      button.disabled = false;
    });
  });
})();
