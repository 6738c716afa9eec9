"""Operations: Prometheus metrics and the /livez, /readyz, /metrics endpoints.

/livez: the loop is turning (restart me if not). /readyz: the store answered
the last time we tried and the live alias's collection is writable (route
away if not); targets it cannot write (stream/degraded.py) are listed in its
body either way. No per-video labels.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

RESULTS = ("applied", "superseded", "dead_lettered", "nacked", "no_target")
FRESHNESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter("vidvec_sidecar_events_total", "Events by result", ["result"], registry=r)
        for result in RESULTS:
            self.events.labels(result)
        self.encoded = Counter("vidvec_sidecar_encoded_total", "Texts sent to the encoder", registry=r)
        self.batch = Histogram("vidvec_sidecar_batch_seconds", "Time to apply and ack one batch", registry=r)
        self.freshness = Histogram("vidvec_sidecar_freshness_seconds",
                                   "From an event entering the source to its acknowledged write",
                                   buckets=FRESHNESS_BUCKETS, registry=r)
        self.targets = Gauge("vidvec_sidecar_targets", "Physical collections written", registry=r)
        self.store_errors = Counter("vidvec_sidecar_store_errors_total", "Retryable errors from I/O", registry=r)
        self.ready = Gauge("vidvec_sidecar_ready", "1 when the store answered the last call", registry=r)
        self.target_writable = Gauge("vidvec_sidecar_target_writable",
                                     "1 when an embedder of the target's family is installed", ["target"], registry=r)
        self.missed = Counter("vidvec_sidecar_missed_events_total",
                              "Events applied to the other targets but not to this unwritable one", ["target"],
                              registry=r)


class Health:
    """Liveness (heartbeat age) and readiness (store reachable) shared with the HTTP thread."""

    def __init__(self, stale_seconds: float):
        self.stale_seconds = stale_seconds
        self._beat = time.monotonic()
        self._ready = False
        self.reason = "starting"
        self.degraded: list[str] = []  # targets not written, with why
        self._live_degraded = False

    def beat(self) -> None:
        self._beat = time.monotonic()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        self._ready, self.reason = ready, reason

    def set_degraded(self, targets: list[str], live: bool) -> None:
        self.degraded, self._live_degraded = list(targets), live

    def ready_text(self) -> str:
        head = "ready" if self.ready else f"not ready: {self.reason or 'the live collection is not writable'}"
        return "".join([head, "\n"] + [f"not written: {t}\n" for t in self.degraded])

    @property
    def live(self) -> bool:
        return time.monotonic() - self._beat < self.stale_seconds

    @property
    def ready(self) -> bool:
        return self._ready and self.live and not self._live_degraded


def _handler(health: Health, metrics: Metrics, routes: list):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            for route in routes:  # mounted apps first (vidvec.read_api): (status, body, type), or None if not theirs
                if (reply := route(self.path, self.client_address[0], self.headers)) is not None:
                    self._send(*reply)
                    return
            if self.path == "/livez":
                self._send(200 if health.live else 503, b"ok\n" if health.live else b"stalled\n")
            elif self.path == "/readyz":
                self._send(200 if health.ready else 503, health.ready_text().encode())
            elif self.path == "/metrics":
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # one log line per batch, not per probe
            pass

    return Handler


class OpsServer:
    def __init__(self, health: Health, metrics: Metrics, host: str, port: int):
        self.routes: list = []
        self.httpd = ThreadingHTTPServer((host, port), _handler(health, metrics, self.routes))
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="vidvec-ops", daemon=True)
        self._thread.start()

    def mount(self, route) -> None:
        """Serve route(path, client address, headers) -> (status, body, content type) | None on GET."""
        self.routes.append(route)

    def unmount(self, route) -> None:
        self.routes.remove(route)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
