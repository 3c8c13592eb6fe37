// Starts Swagger UI on the API docs page (/api/v1/docs) from a file of the app's own: the page's
// Content-Security-Policy allows no inline script. The document's URL is the page's data-spec-url.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
