"""Build the sidecar from settings, serve /livez /readyz /metrics, handle SIGTERM.

Shutdown, in order: stop intake (the stop event; every wait in the loop waits
on it), let the in-flight batches (the one being written, the one encoded
behind it) finish within the deadline, nack what was pulled but not done,
close the source, store and catalog. If they overrun the deadline the process
exits hard: nothing unacked is lost.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import ExitStack

import structlog

from vidvec.config import Settings
from vidvec.read_api import serve_reads
from vidvec.stream.ops import Health, Metrics, OpsServer
from vidvec.stream.settings import SidecarSettings
from vidvec.stream.source import DeadLetterFile, Source

log = structlog.get_logger("vidvec.sidecar")
DEADLINE_EXIT_CODE = 70


def configure_logging() -> None:
    """One JSON object per line on stdout (structlog)."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )


def open_source(settings: Settings, sc: SidecarSettings) -> Source:
    if sc.source == "pubsub":
        from vidvec.stream.pubsub import PubSubSource

        return PubSubSource(sc.pubsub_subscription, sc.flow_max_messages, sc.flow_max_bytes,
                            drain_idle_seconds=sc.drain_idle_seconds)
    from vidvec.stream.local import LocalSource

    return LocalSource(sc.log_file(settings.home), DeadLetterFile(sc.dead_letter_file(settings.home)))


def install_signals(stop: threading.Event, deadline_s: float) -> None:
    """SIGTERM/SIGINT: stop intake now; exit hard if draining overruns the deadline."""

    def overrun() -> None:
        log.error("drain deadline passed; exiting without acking in-flight events", deadline_s=deadline_s)
        os._exit(DEADLINE_EXIT_CODE)

    def handle(signum, _frame) -> None:
        if not stop.is_set():
            log.info("stopping", signal=signal.Signals(signum).name)
            stop.set()
            timer = threading.Timer(deadline_s, overrun)
            timer.daemon = True
            timer.start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _keeper(store, metrics: Metrics, sc: SidecarSettings):
    """The index keeper where the engine needs one (and the setting keeps it on); else None."""
    from vidvec.stream.keeper import IndexKeeper

    if not sc.keep_index:
        return None
    keeper = IndexKeeper(store, metrics.registry, max_segment_kb=sc.keep_index_max_segment_kb,
                         deleted_threshold=sc.keep_index_deleted_threshold, check_seconds=sc.keep_index_check_seconds)
    return keeper if keeper.needed else None


def _given(embedder) -> list:
    return [] if embedder is None else list(embedder) if isinstance(embedder, (list, tuple)) else [embedder]


def run_sidecar(settings: Settings, sc: SidecarSettings, stop: threading.Event | None = None,
                metrics: Metrics | None = None, on_ready=None, embedder=None, observe=None) -> None:
    """Run until stopped (or, with sc.drain, until the backlog is empty).

    stop, metrics (its registry), on_ready(sidecar, ops), embedder (one, or a list: preloaded
    embedders, one per family; the others come from the registry when a target needs them)
    and observe (called with each acked batch's freshness seconds) are injectable for tests
    and benchmarks.
    """
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store
    from vidvec.stream.families import Embedders
    from vidvec.stream.sidecar import Sidecar
    from vidvec.stream.targets import TargetMap

    stop = stop or threading.Event()
    metrics = metrics or Metrics()
    health = Health(sc.liveness_stale_seconds)
    if threading.current_thread() is threading.main_thread():
        install_signals(stop, sc.shutdown_deadline_seconds)
    with ExitStack() as stack:
        ops = OpsServer(health, metrics, sc.http_host, sc.http_port)
        stack.callback(ops.close)
        store = stack.enter_context(open_store(settings))
        if store.capabilities.single_process and not sc.drain:
            log.warning("this sidecar holds the embedded store: no DAG task can open it until it stops "
                        "(live streaming beside Airflow needs a Qdrant server)", engine=store.capabilities.engine)
        catalog = stack.enter_context(open_catalog(settings))
        if store.capabilities.single_process:  # other processes' reads come here (vidvec.read_api)
            stack.enter_context(serve_reads(settings, store, ops, sc.read_token_value, "vidvec sidecar"))
        source = open_source(settings, sc)
        stack.callback(source.close)  # runs first: nack before the clients close
        aliases = sc.alias_list(settings.live_alias)
        targets = TargetMap(store, aliases, sc.alias_refresh_seconds, promotions=lambda: catalog.promotions(None),
                            window_hours=settings.rollback_window_hours, follow_promoted=sc.aliases is None)
        sidecar = Sidecar(
            source=source, store=store, catalog=catalog,
            embedders=Embedders(settings, _given(embedder), cores=sc.encode_cores, stack=stack),
            targets=targets, metrics=metrics, health=health, live_alias=settings.live_alias,
            stop=stop, max_batch_events=sc.max_batch_events, max_batch_seconds=sc.max_batch_seconds,
            drain=sc.drain, max_backoff_seconds=sc.max_backoff_seconds,
            max_delivery_attempts=sc.max_delivery_attempts if sc.source == "local" else None,
            on_acked=observe, keeper=_keeper(store, metrics, sc))
        log.info("started", source=source.name, aliases=list(aliases), http_port=ops.port, drain=sc.drain,
                 engine=store.capabilities.label)
        if on_ready:
            on_ready(sidecar, ops)
        sidecar.run()
    log.info("stopped")
