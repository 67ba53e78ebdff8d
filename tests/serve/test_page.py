"""What the page and the docs are served with, through TestClient: /docs and /redoc with
local assets only, the page titled with the model, the example text it suggests, the run's
report and card, and long texts counted in /metrics instead of logged per request (the
browser test, test_page_browser.py, checks what the page does with them)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lmforge.serve.app import create_app
from lmforge.serve.config import ServeConfig
from tests.serve.conftest import make_run, serve_app
from tests.serve.test_routes import error_of

NEWS = ["Shares in the carmaker fell 4% after it cut its profit forecast for the year.",
        "The striker scored twice as the home side won the cup final 3-1.",
        "Parliament passed the budget bill late on Tuesday after a long debate."]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_only_local_assets(client: Any, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = Links()
    parser.feed(page.text)
    scripts = [u for u in parser.urls if u.endswith(".js")]
    assert scripts, "the docs page loads its UI from a script"
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "cdn." not in page.text and "fonts.googleapis" not in page.text
    # what the bundles themselves would fetch (ReDoc's logo) stays on this server too
    assert page.headers["content-security-policy"] == (
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'")
    # the spec too is fetched from this server
    assert "'/openapi.json'" in page.text or 'spec-url="/openapi.json"' in page.text
    assert client.get("/openapi.json").status_code == 200


def test_docs_stay_open_and_keep_the_narrowed_schema_with_an_api_key(tiny_run: Path) -> None:
    c = serve_app(create_app([tiny_run], ServeConfig(api_key="k")))
    try:
        assert c.get("/docs").status_code == 200
        assert c.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
        spec = c.get("/openapi.json").json()
        body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["required"] == ["texts"]  # narrow_predict_schema still applied
        assert spec["paths"]["/v1/models/{name}/report"]["get"]["security"] == [{"HTTPBearer": []}]
        assert c.get("/v1/models/run/report").status_code == 401
    finally:
        c.__exit__(None, None, None)


def test_page_is_titled_with_the_model_and_suggests_no_film_review(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    c = serve_app(create_app([f"news<&>={run}"]))
    try:
        page = c.get("/").text
        assert "<title>news&lt;&amp;&gt;</title>" in page
        assert '<h1 id="title">news&lt;&amp;&gt;</h1>' in page
        assert "film" not in page.lower() and "gripping" not in page.lower()
        assert 'href="/docs"' in page and 'href="/redoc"' in page
    finally:
        c.__exit__(None, None, None)


def write_train_csv(path: Path, texts: list[str]) -> Path:
    import pandas as pd

    pd.DataFrame({"text": texts, "label": ["x"] * len(texts)}).to_csv(path, index=False)
    return path


def with_settings(run: Path, **settings: Any) -> Path:
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    (run / "config.yaml").write_text(yaml.safe_dump({**config, **settings}), encoding="utf-8")
    return run


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A run whose config.yaml names its training file; report.md and README.md present."""
    root = tmp_path_factory.mktemp("news")
    long_first = "A very long first text of the training file. " * 10
    data = write_train_csv(root / "train.csv", ["short", long_first, *NEWS])
    run = with_settings(make_run(root, labels=("business", "sport", "politics")), data=str(data))
    (run / "report.md").write_text("# news\n\n## Warnings\n\n- some warning\n", encoding="utf-8")
    (run / "README.md").write_text("---\nlibrary_name: transformers\n---\n# news\n\nA card.\n",
                                   encoding="utf-8")
    c = serve_app(create_app([f"news={run}"], ServeConfig(max_text_chars=5000)),
                  raise_server_exceptions=False)
    yield c
    c.__exit__(None, None, None)


def test_models_give_an_example_from_the_training_data_and_the_file_links(news: Any) -> None:
    (info,) = news.get("/v1/models").json()["models"]
    # the first text of 20 to 200 characters: not "short", not the 460-character one
    assert info["example"] == {"text": NEWS[0]}
    assert info["report"] == "/v1/models/news/report" and info["card"] == "/v1/models/news/card"


def test_report_and_card_are_served_as_markdown(news: Any) -> None:
    report = news.get("/v1/models/news/report")
    assert report.status_code == 200
    assert report.headers["content-type"] == "text/markdown; charset=utf-8"
    assert report.text.startswith("# news\n\n## Warnings")
    card = news.get("/v1/models/news/card")
    assert card.status_code == 200 and "A card." in card.text
    assert error_of(news.get("/v1/models/nope/card"), 404, "not_found") == (
        "model 'nope' is not served here; served: news (GET /v1/models)")


def test_a_run_without_report_card_or_data_has_none_and_404s(client: Any) -> None:
    (info,) = client.get("/v1/models").json()["models"]
    assert info["example"] is None and info["report"] is None and info["card"] is None
    assert error_of(client.get("/v1/models/run/report"), 404, "not_found") == (
        "model 'run' has no report: its run directory has no report.md (`lmforge train` "
        "writes one; copy it with the run)")
    assert error_of(client.get("/v1/models/run/card"), 404, "not_found").startswith(
        "model 'run' has no card: its run directory has no README.md")


def test_the_model_cards_widget_text_comes_first(tmp_path: Path) -> None:
    from lmforge.serve.run_files import example_input

    data = write_train_csv(tmp_path / "train.csv", NEWS)
    run = make_run(tmp_path)
    settings = {"data": str(data), "text_col": "text"}
    assert example_input(run, settings, ["text"]) == {"text": NEWS[0]}
    (run / "README.md").write_text('---\nwidget:\n- text: "Oil prices rose on Monday."\n---\n',
                                   encoding="utf-8")
    assert example_input(run, settings, ["text"]) == {"text": "Oil prices rose on Monday."}
    # gone, too big to read or without the model's columns: no example, no error
    assert example_input(tmp_path, {"data": str(tmp_path / "moved.csv")}, ["text"]) is None
    assert example_input(tmp_path, {"data": str(data)}, ["body"]) is None
    assert example_input(tmp_path, {"data": str(data), "task": "tokens"}, ["text"]) is None


def test_long_texts_are_counted_in_metrics_and_logged_once(
        news: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lmforge")
    long_text = " ".join(f"word{i}" for i in range(200))  # max_length 64
    for _ in range(2):
        r = news.post("/v1/predict", json={"texts": [long_text, "short", long_text]})
        assert r.status_code == 200, r.text
    assert news.post("/v1/explain", json={"texts": [long_text]}).status_code == 200
    metrics = news.app.state.metrics
    assert metrics.sample("lmforge_texts_truncated_total", {"model": "news"}) == 5
    assert 'lmforge_texts_truncated_total{model="news"} 5.0' in news.get("/metrics").text
    lines = [r.getMessage() for r in caplog.records if "longer than" in r.getMessage()]
    assert lines == ["model 'news': texts longer than 64 tokens are shortened, head+tail "
                     "(lmforge_texts_truncated_total); /metrics counts them, this is logged "
                     "only once"]


def test_explain_gives_the_spans_of_the_words_not_read(client: Any) -> None:
    long_text = " ".join(f"w{i}" for i in range(40))
    (e,) = client.post("/v1/explain", json={"texts": [long_text]}).json()["explanations"]
    assert e["truncated"] and e["dropped_words"]
    assert [e["text"][s:t] for s, t in e["dropped_spans"]] == e["dropped_words"]
    # head+tail: the unread words are the middle ones
    assert e["spans"][0][1] <= e["dropped_spans"][0][0]
    assert e["dropped_spans"][-1][1] <= e["spans"][-1][0]
