"""The app factory: ``create_app(run_dirs, settings)`` wires config, models, routes,
the error funnel and the request metrics into one FastAPI app.

Models load in the background once the server starts, so /health answers at once and
/ready turns 200 when every model is loaded and warmed up. On shutdown (SIGTERM or
Ctrl-C: uvicorn stops accepting and lets in-flight requests finish) the queues are
drained before the process exits.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lmforge.serve.config import ServeConfig
from lmforge.serve.metrics import ServeMetrics

log = logging.getLogger(__name__)

CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

DESCRIPTION = """Text classification with lmforge run directories.

`POST /v1/predict` with `{"texts": ["..."]}` returns one prediction per text, in order.
Requests arriving together are batched into one forward pass. Errors have the shape
`{"error": {"type", "message", "request_id"}}`. The page at `/` tries it in a browser.
"""


def create_app(run_dirs: Sequence[str | Path], settings: ServeConfig | None = None) -> Any:
    """A FastAPI app serving ``run_dirs`` (each ``RUN_DIR`` or ``NAME=RUN_DIR``).

    Settings are validated and run directories checked here, before any port is
    bound; the models themselves load when the app starts (its lifespan).
    """
    from fastapi import Depends, FastAPI
    from fastapi_offline import FastAPIOffline

    from lmforge.rundir import read_config
    from lmforge.serve.predictor import ModelPool, parse_model_specs
    from lmforge.serve.routes import (
        install_error_handlers,
        narrow_predict_schema,
        require_api_key,
        router,
        v1_router,
    )
    from lmforge.version import __version__

    config = settings or ServeConfig()
    config.validate()
    specs = parse_model_specs(run_dirs)
    metrics = ServeMetrics()
    pool = ModelPool(specs, config, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            log.info("shutting down: draining the queues")
            await pool.stop()

    # /docs and /redoc load Swagger UI and ReDoc from the package's own copy (under
    # /static-offline-docs), not from a CDN: the service is often run offline
    app = FastAPIOffline(title="lmforge", version=__version__, description=DESCRIPTION,
                         lifespan=lifespan)
    app.state.config = config
    app.state.pool = pool
    app.state.metrics = metrics
    app.include_router(v1_router, dependencies=[Depends(require_api_key)] if config.api_key else [])
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(RequestObserver, metrics=metrics)
    app.add_middleware(DocsPolicy)
    served = [read_config(path) for _, path in specs]

    def openapi() -> dict[str, Any]:  # the predict body lists only the inputs served models read
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            narrow_predict_schema(schema, served)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class DocsPolicy:
    """Pure ASGI middleware: /docs and /redoc may fetch images, fonts and data only from this
    server. ReDoc's bundle shows a logo from cdn.redoc.ly; the browser now skips it (ReDoc drops
    an image that fails) instead of reaching for the network, offline or not."""

    PAGES = ("/docs", "/redoc")
    POLICY = "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in self.PAGES:
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import MutableHeaders

        async def send_with_policy(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("Content-Security-Policy", self.POLICY)
            await send(message)

        await self.app(scope, receive, send_with_policy)


class RequestObserver:
    """Pure ASGI middleware: a request id for every request (X-Request-ID, echoed when
    the client sent a sane one) and the request count/latency metrics by route."""

    def __init__(self, app: Any, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers, MutableHeaders

        sent = Headers(scope=scope).get("x-request-id", "")
        rid = sent if CLIENT_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        status = 500  # if nothing is sent, an exception escaped: the 500 handler answers
        started = time.perf_counter()

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                if "x-request-id" not in headers:
                    headers.append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # the route's template, not the raw path: unknown paths must not grow the label set
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
