"""Logging for entry points (CLI, service). Library modules only get loggers."""

from __future__ import annotations

import logging
import os
import sys
import warnings


def setup_logging(verbosity: int = 0) -> None:
    """-1 quiet (warnings), 0 info, 1+ debug. Third-party chatter stays at warning."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("lmforge").setLevel(level)
    # transformers prints load reports and advice through its own logger
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
