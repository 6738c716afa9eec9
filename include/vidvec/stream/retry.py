"""Retry around I/O, only for the retryable set, with jittered exponential backoff.

Retryable: the store's transient errors (store/errors.py), the embedded
catalog file held by another process (duckdb IOException: "Could not set
lock"), and Google API transient errors (BigQuery catalog). Terminal: all
else. Every backoff sleep waits on the stop event, so SIGTERM ends it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb
import structlog
from google.api_core import exceptions as gexc
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

from vidvec.store.errors import is_retryable as store_retryable

log = structlog.get_logger("vidvec.sidecar")

RETRYABLE_OTHER: tuple[type[BaseException], ...] = (
    duckdb.IOException,
    gexc.ServiceUnavailable, gexc.TooManyRequests, gexc.InternalServerError, gexc.DeadlineExceeded,
)


def is_retryable(exc: BaseException) -> bool:
    return store_retryable(exc) or isinstance(exc, RETRYABLE_OTHER)


def retrying(stop: threading.Event, max_backoff: float,
             on_retry: Callable[[BaseException, int], None]) -> Retrying:
    """Retry forever on retryable errors (intake is paused meanwhile) until stop is set.

    Once stop is set the last error is re-raised: the caller nacks the batch.
    """

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None  # tenacity sleeps only after an outcome
        if error is not None:
            on_retry(error, state.attempt_number)

    def sleep(seconds: float) -> None:
        stop.wait(seconds)  # a stop ends the wait at once

    return Retrying(
        retry=retry_if_exception(is_retryable),
        wait=wait_random_exponential(multiplier=0.2, max=max_backoff),
        stop=lambda state: stop.is_set(),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
