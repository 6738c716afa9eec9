"""Which store errors are worth retrying. Everything else is terminal and fails loudly.

Listed explicitly, as google-cloud-pubsub's subscriber does: a connection that
cannot be made or a server that is overloaded/restarting comes back; a 4xx, a
validation error, a local-mode or Qdrant Edge error (in-process: nothing to
wait for) or StoreInUse will fail the same way again.
"""

from __future__ import annotations

import grpc
import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

RETRYABLE_TYPES: tuple[type[BaseException], ...] = (
    ResponseHandlingException,  # REST: connection refused/reset, timeouts (wraps httpx errors)
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)
RETRYABLE_HTTP_STATUS = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE_GRPC_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                  grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED})
# Terminal, for the record: UnexpectedResponse with any other status (400 bad request,
# 404 missing collection, 409 conflict), grpc INVALID_ARGUMENT/NOT_FOUND/PERMISSION_DENIED/
# UNAUTHENTICATED, ValueError/RuntimeError from local mode, Exception from Qdrant Edge, VidvecError.


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code in RETRYABLE_HTTP_STATUS
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return exc.code() in RETRYABLE_GRPC_CODES
    return isinstance(exc, RETRYABLE_TYPES)
