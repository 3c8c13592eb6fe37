// The admin pages' one enhancement: a "Copy the token" button on the page that shows a new API
// token once. Without JavaScript the token is still there to select and copy by hand.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!source || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(
        function () {
          if (status) status.textContent = "Copied. Paste it where it is needed now.";
        },
        function () {
          source.select();
          if (status) status.textContent = "Could not copy: the token is selected, copy it by hand.";
        }
      );
    });
  });
  // A click in the token selects all of it, for copying by hand.
  document.querySelectorAll("[data-copy-source]").forEach(function (field) {
    field.addEventListener("focus", function () {
      field.select();
    });
  });
});
