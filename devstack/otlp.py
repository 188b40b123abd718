"""An OTLP/HTTP endpoint on 127.0.0.1 for the tests and the benchmarks: it answers every export
with 200 and hands the body to its owner, who keeps what it needs (the spans, or only sizes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OtlpEndpoint:
    """Takes exports (protobuf POSTs, `/v1/traces`) on a free port; `take` gets each body, on
    the server's threads. Listens from construction; answers once `start`ed."""

    def __init__(self, take: Callable[[bytes], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                take(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        """Serve on a daemon thread."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving (the exports in progress are answered first)."""
        self.server.shutdown()
