"""A photo server of the tests' own on loopback: the catalogue photos a Shopify export points
at, and the hostile answers a catalogue's URLs can give (redirects to private addresses,
bodies that never end or claim 2 GB, pages that are not photos, servers that are down)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PRIVATE_TARGETS = {
    "/redirect-private": "http://10.11.12.13/photo.jpg",
    "/redirect-metadata": "http://169.254.169.254/latest/meta-data/",
    "/redirect-ipv6-loopback": "http://[::1]/photo.jpg",
}


class PhotoServer:
    def __init__(self, root: Path | None = None):
        self.root = root  # files under it are served too, at their relative path
        self.photos: dict[str, bytes] = {}  # path -> JPEG bytes
        self.failures_left: dict[str, int] = {}  # path -> 503s to answer before the photo
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PhotoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(self.path)
                path = self.path
                if server.failures_left.get(path, 0) > 0:
                    server.failures_left[path] -= 1
                    return self._answer(503, b"busy")
                if path in server.photos:
                    return self._answer(200, server.photos[path], "image/jpeg")
                if server.root and (server.root / path.lstrip("/")).is_file():
                    body = (server.root / path.lstrip("/")).read_bytes()
                    return self._answer(200, body, "image/jpeg")
                if path in PRIVATE_TARGETS:
                    return self._redirect(PRIVATE_TARGETS[path])
                if path.startswith("/redirect-loop"):
                    hop = int(path.rsplit("/", 1)[-1]) if path.count("/") > 1 else 0
                    return self._redirect(f"/redirect-loop/{hop + 1}")
                if path.startswith("/redirect-to"):
                    return self._redirect(path.removeprefix("/redirect-to"))
                if path == "/not-an-image":
                    return self._answer(200, b"<html><body>Sold out</body></html>", "text/html")
                if path == "/two-gigabytes":
                    return self._endless(content_length=2 * 1024**3)
                if path == "/huge-unannounced":
                    return self._endless(content_length=None)
                if path == "/never-ends":
                    return self._trickle()
                return self._answer(404, b"not found")

            def _answer(self, status, body, content_type="text/plain"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _endless(self, content_length):
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                if content_length:
                    self.send_header("Content-Length", str(content_length))
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"\xff" * 65536)
                except OSError:
                    pass  # the client hung up, as it should

            def _trickle(self):
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass

        return Handler
