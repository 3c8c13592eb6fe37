"""GET /api/v1/openapi.json (the document) and GET /api/v1/docs (Swagger UI), no token needed.

The docs page loads nothing from elsewhere: Swagger UI's script and style come from the
swagger-ui-bundle package's folder and its initialiser is a file of ours (static/api-docs.js),
all under /api/v1/docs/, so the page runs under `Content-Security-Policy: default-src 'self';
script-src 'self'` with no inline script.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Response, send_from_directory, url_for

from .problems import PREFIX, ApiProblem
from .spec import TITLE, ClinicApi

CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'"
_OURS = Path(__file__).parent / "static"
_SWAGGER = Path(str(swagger_ui_bundle.swagger_ui_path))
ASSETS = {
    "swagger-ui.css": _SWAGGER,
    "swagger-ui-bundle.js": _SWAGGER,
    "favicon-32x32.png": _SWAGGER,
    "api-docs.js": _OURS,
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="stylesheet" href="{css}">
    <link rel="icon" type="image/png" href="{icon}">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="{spec}"></div>
    <script src="{bundle}"></script>
    <script src="{init}"></script>
  </body>
</html>
"""


def blueprint(api: ClinicApi) -> Blueprint:
    docs = Blueprint("api_docs", __name__, url_prefix=PREFIX)
    document: list[str] = []  # the document's JSON, made once on first request

    @docs.get("/openapi.json")
    def openapi_json() -> Response:
        if not document:
            document.append(json.dumps(api.spec.to_dict(), indent=2))
        return Response(document[0], mimetype="application/json")

    @docs.get("/docs")
    def page() -> Response:
        def asset(name: str) -> str:
            return escape(url_for("api_docs.asset", name=name))

        html = _PAGE.format(
            title=escape(TITLE),
            css=asset("swagger-ui.css"),
            icon=asset("favicon-32x32.png"),
            spec=escape(url_for("api_docs.openapi_json")),
            bundle=asset("swagger-ui-bundle.js"),
            init=asset("api-docs.js"),
        )
        return _secured(Response(html, mimetype="text/html"))

    @docs.get("/docs/<name>")
    def asset(name: str) -> Response:
        folder = ASSETS.get(name)
        if folder is None:
            return ApiProblem(404, "there is nothing at this path").response()
        return _secured(send_from_directory(folder, name, max_age=3600))

    return docs


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
