"""A customer's webhook endpoint for tests: an HTTP server on loopback that keeps each POST's
signature header and body."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zvonar_dialer.adapters.webhooks import SIGNATURE_HEADER


class Receiver(ThreadingHTTPServer):
    posts: list[tuple[str, bytes]]


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.headers.get(SIGNATURE_HEADER, ""), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the posts are what the tests read."""


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), Hook)
    server.posts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
