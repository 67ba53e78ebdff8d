"""Errors of the HTTP service. Each carries its HTTP status, a short machine-readable
``error_type`` for the JSON body, and any headers the response needs (Retry-After,
WWW-Authenticate). ``routes.error_response`` is the one place they become responses."""

from __future__ import annotations

from lmforge.errors import LmforgeError


class ServeError(LmforgeError):
    """Base of the service's own errors."""

    http_status = 500
    error_type = "internal_error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = dict(headers or {})


class BadRequest(ServeError):
    """The body cannot be read at all (e.g. not UTF-8)."""

    http_status = 400
    error_type = "bad_request"


class Unauthorized(ServeError):
    """Missing or wrong API key."""

    http_status = 401
    error_type = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": "Bearer"})


class NotFound(ServeError):
    """Unknown model or path."""

    http_status = 404
    error_type = "not_found"


class MethodNotAllowed(ServeError):
    http_status = 405
    error_type = "method_not_allowed"


class PayloadTooLarge(ServeError):
    """Body, number of texts or length of a text over its limit (the message names it)."""

    http_status = 413
    error_type = "payload_too_large"


class InvalidRequest(ServeError):
    """Well-formed bytes, but not a valid request: bad JSON, wrong types, empty texts."""

    http_status = 422
    error_type = "invalid_request"


class Unavailable(ServeError):
    """Queue full, model still loading, or shutting down: retry later."""

    http_status = 503
    error_type = "unavailable"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message, {"Retry-After": str(max(1, int(retry_after_s)))})


class ModelFailure(ServeError):
    """The model raised while predicting. The message carries the request id in the log."""

    http_status = 500
    error_type = "model_error"


class RemoteError(LmforgeError):
    """``lmforge predict --server URL``: the server cannot be reached or refused the request."""

    http_status = 502
