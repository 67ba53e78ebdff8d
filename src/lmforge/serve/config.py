"""Settings of ``lmforge serve``. Each field's docstring is its --help text;
``validate()`` reports every problem at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmforge.errors import ConfigError

API_KEY_ENV = "LMFORGE_API_KEY"


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    """Address to listen on. The default only accepts connections from this machine; use 0.0.0.0
    to serve the network (and set an API key)."""
    port: int = 8000
    """TCP port to listen on."""
    max_batch_size: int = 32
    """Most texts in one forward pass. Texts of concurrent requests are grouped up to this many;
    1 turns dynamic batching off."""
    forward_batch_size: int = 32
    """Most texts per forward pass within one batch: the batch is sorted by token length and cut
    into passes where the padding saved outweighs the cost of one more pass, so short texts
    are not padded to the batch's longest."""
    max_wait_ms: float = 5.0
    """How long the first queued text waits for others to join its batch, in milliseconds."""
    max_queue_texts: int = 1024
    """Most texts waiting for the model. Beyond it requests get 503 with Retry-After, so memory
    stays bounded under overload."""
    max_texts_per_request: int = 256
    """Most texts in one POST /v1/predict (413 above it)."""
    max_text_chars: int = 10_000
    """Most characters in one text (413 above it). Texts are truncated to the run's max_length
    tokens anyway; this bounds the tokenizer's work."""
    max_body_bytes: int = 1_048_576
    """Largest request body in bytes (413 above it)."""
    api_key: str | None = field(default=None, repr=False)  # kept out of logs and tracebacks
    """Require 'Authorization: Bearer KEY' on /v1/* (default: the LMFORGE_API_KEY environment
    variable; prefer it, a flag shows in the process list). /health, /ready and /metrics stay
    open."""
    threads: int | None = None
    """CPU threads for torch (default: torch's choice, all cores)."""
    retry_after_s: int = 1
    """Seconds a client is told to wait (Retry-After) when the queue is full."""
    shutdown_timeout_s: float = 30.0
    """On SIGTERM/Ctrl-C: stop accepting, finish queued work for at most this long, then exit."""
    access_log: bool = False
    """Log every request (uvicorn's access log)."""

    def validate(self) -> None:
        """Raise one ConfigError listing every invalid field."""
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port: must be between 0 and 65535, got {self.port}")
        for name in ("max_batch_size", "forward_batch_size", "max_queue_texts", "max_texts_per_request",
                     "max_text_chars", "max_body_bytes", "retry_after_s"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_wait_ms < 0:
            problems.append(f"max_wait_ms: must be >= 0, got {self.max_wait_ms}")
        if self.shutdown_timeout_s < 0:
            problems.append(f"shutdown_timeout_s: must be >= 0, got {self.shutdown_timeout_s}")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads: must be >= 1, got {self.threads}")
        if self.max_queue_texts < self.max_texts_per_request:
            problems.append(f"max_queue_texts ({self.max_queue_texts}) must be >= "
                            f"max_texts_per_request ({self.max_texts_per_request}), or a full-size "
                            "request could never be queued")
        if self.api_key is not None and not self.api_key.strip():
            problems.append("api_key: must not be empty (unset it to turn auth off)")
        if problems:
            raise ConfigError("invalid serve settings: " + "; ".join(problems))
