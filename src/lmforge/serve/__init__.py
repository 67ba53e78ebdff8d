"""The HTTP service: ``lmforge serve RUN_DIR [RUN_DIR...]``.

config.py    ServeConfig: every flag of ``lmforge serve`` (field docstrings are --help)
protocol.py  request/response pydantic models (the OpenAPI schema) and request parsing
predictor.py a loaded run + the dynamic batcher; no HTTP in here
metrics.py   the Prometheus metrics of one app
routes.py    thin FastAPI routes and the one error funnel (LmforgeError -> HTTP)
app.py       create_app(run_dirs, settings): wires the above together
page.py      the HTML/JS page served at ``/``
client.py    predict_remote(): what ``lmforge predict --server URL`` calls
cli.py       add_serve_cli(): the ``serve`` sub-command

Nothing here is imported by ``import lmforge``; fastapi and torch load on first use.
"""
