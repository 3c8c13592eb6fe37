"""A vendor's HTTP API stood in for by a server thread on 127.0.0.1 (Twilio, Slack, Bedrock fakes).

The real client libraries sign, send and parse; only the far end is ours. `answer(path, headers,
body)` returns (status, payload bytes, response headers) for each POST.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[str, Mapping[str, str], bytes], tuple[int, bytes, Mapping[str, str]]]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up before the answer (the timeout tests' whole point) is expected,
        # not news. Its traceback printed here, beside the test's own thread, also tripped
        # CPython 3.11.7's shared AST recursion counter (python/cpython#106905: traceback's
        # carets call ast.parse) while the test built an app: "AST constructor recursion depth
        # mismatch" in werkzeug's route compiler.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class LocalServer:
    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload, headers = answer(self.path, self.headers, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass  # request lines would only clutter the test output

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
