"""Typed errors. Every message says what went wrong *and* what to do about it.

The CLI turns any ``LmforgeError`` into its message on stderr and exit code 2;
the HTTP service maps ``http_status`` to the response code. Nothing else in the
code base catches broadly.
"""

from __future__ import annotations


class LmforgeError(Exception):
    """Base class of every error a user is meant to read."""

    http_status = 500
    exit_code = 2


class DataError(LmforgeError):
    """Input data is missing, unreadable or unusable (names file/row/column)."""

    http_status = 422


class ConfigError(LmforgeError):
    """A configuration value or key is invalid (names the field)."""

    http_status = 422


class ModelError(LmforgeError):
    """A model directory is missing, incomplete or not a model."""

    http_status = 500


class RunDirError(LmforgeError):
    """A run directory is missing, incomplete, or exists when it should not."""

    http_status = 409
