"""A customer's webhook endpoint for tests: an HTTP server on loopback that keeps each POST's
headers and body, and answers 503 to the first `fail_first` of them (a receiver that is down
for a while)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Post:
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered


class Receiver(ThreadingHTTPServer):
    posts: list[Post]
    fail_first: int
    lock: threading.Lock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def answered(self, status: int) -> list[Post]:
        return [post for post in list(self.posts) if post.status == status]


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with self.server.lock:
            status = 503 if self.server.fail_first > 0 else 200
            self.server.fail_first -= 1
            self.server.posts.append(Post(headers, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the posts are what the tests read."""


@contextmanager
def running_receiver(fail_first: int = 0) -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), Hook)
    server.posts = []
    server.fail_first = fail_first
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
