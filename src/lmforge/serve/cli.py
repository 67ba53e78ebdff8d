"""Command-line skin of serve/: ``lmforge serve RUN_DIR [RUN_DIR...]``.

``lmforge.cli.build_parser`` calls ``add_serve_cli(sub)``. The handler parses the flags
into ``ServeConfig`` (the API key falls back to $LMFORGE_API_KEY), builds the app —
which validates everything before a port is bound — and runs uvicorn until SIGTERM or
Ctrl-C, then drains the queues and returns 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.serve.config import API_KEY_ENV, ServeConfig

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def add_serve_cli(sub: Any) -> None:
    """Register ``serve`` on the ``lmforge`` sub-parsers object."""
    from lmforge.config.cli import add_config_flags

    serve = sub.add_parser(
        "serve", help="serve run directories over HTTP (JSON API and a web page)",
        description="Serve trained runs: POST /v1/predict, GET /v1/models, /health, /ready, "
        "/metrics, API docs at /docs and a page to try it at /. Concurrent requests are batched "
        "into one forward pass (--max-batch-size, --max-wait-ms). SIGTERM or Ctrl-C stops "
        "accepting, finishes queued work, then exits.")
    serve.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                       help="run directory to serve; NAME=RUN_DIR names it (default name: the "
                       "folder's). The first is the default model of requests that name none.")
    add_config_flags(serve, ServeConfig)
    serve.set_defaults(handler=cmd_serve)


def config_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> ServeConfig:
    """``ServeConfig`` from the flags; the API key falls back to $LMFORGE_API_KEY."""
    from lmforge.config import cli

    config = cli.config_from_args(ServeConfig, args, validate=False)
    if config.api_key is None:
        config.api_key = (os.environ if environ is None else environ).get(API_KEY_ENV) or None
    config.validate()
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    return run_server(args.run_dirs, config_from_args(args))


def prefer_passive_omp_wait() -> None:
    """Idle OpenMP threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE), unless the
    user set a policy. The server's event loop thread shares the cores with torch's intra-op
    threads; spinning threads steal that CPU and, when any other process is busy, stall each
    other at every barrier. On this 2-core machine with another job running, the default policy
    served 12 req/s unbatched and 75 batched (tiny model, 2 threads), PASSIVE 338 and 1,520.
    libgomp reads it when torch is imported, so it must be set before that."""
    if "OMP_WAIT_POLICY" in os.environ:
        return
    if "torch" in sys.modules:
        log.debug("torch is already imported: OMP_WAIT_POLICY=PASSIVE would not take effect")
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def run_server(run_dirs: Sequence[str | Path], config: ServeConfig) -> int:
    """Serve until SIGTERM/Ctrl-C (uvicorn handles both: stop accepting, finish in-flight
    requests, then the app's shutdown drains the queues)."""
    prefer_passive_omp_wait()
    import uvicorn

    from lmforge.serve.app import create_app

    app = create_app(run_dirs, config)
    if config.host not in LOOPBACK and not config.api_key:
        log.warning("listening on %s without an API key: anyone who can reach this port can use "
                    "the model. Set LMFORGE_API_KEY.", config.host)
    if config.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)  # "Uvicorn running on ..."
    log.info("serving %s: page at http://%s:%d/ , API docs at /docs; loading models",
             ", ".join(app.state.pool.models), config.host, config.port)
    uvicorn.run(app, host=config.host, port=config.port, log_config=None,
                access_log=config.access_log, timeout_graceful_shutdown=config.shutdown_timeout_s)
    log.info("stopped")
    return 0
