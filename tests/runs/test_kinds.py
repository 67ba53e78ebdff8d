"""Every kind of run directory: load -> predict gives the same surface, the kind is read
from run.json, and a run written before run.json existed is recognised from its files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmforge.errors import RunDirError
from lmforge.rundir import (
    ENSEMBLE,
    MANIFEST_FILE,
    ONNX,
    RUN_KINDS,
    SETFIT,
    TFIDF,
    TOKENS,
    TRANSFORMERS,
    write_config,
    write_json,
    write_manifest,
)
from tests.conftest import sentiment_rows

LABELS = ["neg", "pos"]
TEXTS = ["a great and wonderful film", "awful boring plot", "the cast", "dull", "superb acting"]
SETTINGS = {"task": "single", "max_length": 32, "truncation": "head+tail", "eval_batch_size": 8}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tokenizer() -> object:
    from transformers import AutoTokenizer

    from lmforge.models.registry import resolve_model_dir

    return AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))


def _bert_config(tokenizer: object) -> object:
    from transformers import BertConfig

    return BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,  # type: ignore[attr-defined]
                      num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                      max_position_embeddings=64, num_labels=2,
                      id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in
                                                                  enumerate(LABELS)})


def _run_files(run: Path, kind: str, model: str | None = None) -> Path:
    write_config(run, dict(SETTINGS), header="test run")
    write_json(run / "metrics.json", {})
    write_manifest(run, kind, model)
    return run


def _transformers_run(run: Path) -> Path:
    import torch
    from transformers import BertForSequenceClassification

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    BertForSequenceClassification(_bert_config(tokenizer)).save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))  # type: ignore[attr-defined]
    return _run_files(run, TRANSFORMERS)


def _setfit_run(run: Path) -> Path:
    import torch
    from transformers import BertModel

    from lmforge.inference.setfit import setfit_module

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    encoder = BertModel(_bert_config(tokenizer))
    setfit_module()(encoder, len(LABELS), True).save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))  # type: ignore[attr-defined]
    return _run_files(run, SETFIT)


def _tfidf_run(run: Path) -> Path:
    from lmforge.models.tfidf import fit_tfidf, save_tfidf

    rows = sentiment_rows(60, seed=3)
    save_tfidf(fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], LABELS),
               run / "model")
    return _run_files(run, TFIDF)


def _tokens_run(run: Path) -> Path:
    import torch
    from transformers import BertForTokenClassification

    from lmforge.inference.tokens import TOKENS_FILE

    tokenizer = _tokenizer()
    tags = ["O", "B-PER", "I-PER"]
    config = _bert_config(tokenizer)
    config.num_labels, config.id2label = 3, dict(enumerate(tags))  # type: ignore[attr-defined]
    config.label2id = {k: i for i, k in enumerate(tags)}  # type: ignore[attr-defined]
    torch.manual_seed(0)
    BertForTokenClassification(config).save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))  # type: ignore[attr-defined]
    write_json(run / TOKENS_FILE, {"labels": tags, "scheme": "bio", "unit": "word"})
    return _run_files(run, TOKENS)


def _onnx_run(run: Path, source: Path) -> Path:
    from lmforge.compress.export import export_onnx_model
    from lmforge.inference.onnx import ONNX_FILE
    from lmforge.runs.load import load_run

    clf = load_run(source)
    clf.tokenizer.save_pretrained(str(run / "model"))  # type: ignore[attr-defined]
    clf.model.config.save_pretrained(str(run / "model"))  # type: ignore[attr-defined]
    export_onnx_model(clf.model, clf.tokenizer, run / "model" / ONNX_FILE, 17)  # type: ignore[attr-defined]
    return _run_files(run, ONNX)


def _ensemble_run(run: Path, source: Path) -> Path:
    from lmforge.models.tfidf import fit_tfidf
    from lmforge.runs.ensemble import write_ensemble_files

    shutil.copytree(source, run)
    rows = sentiment_rows(60, seed=4)
    model = fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], LABELS)
    write_ensemble_files(run, model, "blend", 0.5, "single", LABELS)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kinds")
    built = {TRANSFORMERS: _transformers_run(root / TRANSFORMERS),
             SETFIT: _setfit_run(root / SETFIT), TFIDF: _tfidf_run(root / TFIDF)}
    built[ONNX] = _onnx_run(root / ONNX, built[TRANSFORMERS])
    built[ENSEMBLE] = _ensemble_run(root / ENSEMBLE, built[TRANSFORMERS])
    built[TOKENS] = _tokens_run(root / TOKENS)
    return built


BACKENDS = {TRANSFORMERS: "lmforge.inference.torch.Classifier",
            SETFIT: "lmforge.inference.torch.Classifier",
            TFIDF: "lmforge.inference.tfidf.TfidfClassifier",
            ONNX: "lmforge.inference.onnx.OnnxClassifier",
            ENSEMBLE: "lmforge.inference.ensemble.EnsembleClassifier",
            TOKENS: "lmforge.inference.tokens.TokenTagger"}
TEXT_KINDS = tuple(k for k in RUN_KINDS if k != TOKENS)  # a token run tags tokens instead
SENTENCES = [["John", "Smith", "visited", "Paris"], ["Mary"]]


def _outputs(clf: object, kind: str) -> object:
    """What the run predicts: probabilities per text, or logits per token of a token run."""
    import numpy as np

    if kind == TOKENS:
        return np.concatenate(clf.token_logits(SENTENCES))  # type: ignore[attr-defined]
    return clf.predict_proba(TEXTS)  # type: ignore[attr-defined]


def test_every_kind_has_a_loader() -> None:
    from lmforge.runs.kinds import KINDS

    assert tuple(KINDS) == RUN_KINDS == tuple(BACKENDS)


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_load_then_predict_gives_the_same_surface(runs: dict[str, Path], kind: str) -> None:
    import numpy as np

    from lmforge.inference.surface import Predictor
    from lmforge.runs.kinds import run_kind
    from lmforge.runs.load import load_run

    run = runs[kind]
    assert run_kind(run) == kind
    clf = load_run(run)
    assert f"{type(clf).__module__}.{type(clf).__name__}" == BACKENDS[kind]
    assert isinstance(clf, Predictor)
    assert clf.task == "single" and clf.classes_ == LABELS and clf.labels == LABELS
    assert clf.run_dir == run and clf.settings["max_length"] == 32
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), len(LABELS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    predicted = clf.predict(TEXTS)
    assert len(predicted) == len(TEXTS) and set(predicted) <= set(LABELS)
    assert clf.decode(proba) == predicted
    assert clf.logits(TEXTS).shape == (len(TEXTS), len(LABELS))


@pytest.mark.parametrize("kind", RUN_KINDS)
def test_a_run_without_run_json_is_recognised_from_its_files(
        runs: dict[str, Path], kind: str, tmp_path: Path) -> None:
    import numpy as np

    from lmforge.runs.kinds import model_kind, run_kind
    from lmforge.runs.load import load_run

    old = tmp_path / "old"
    shutil.copytree(runs[kind], old)
    (old / MANIFEST_FILE).unlink()  # as every run written before run.json existed
    assert run_kind(old) == kind
    assert model_kind(old) == (TRANSFORMERS if kind == ENSEMBLE else kind)
    np.testing.assert_allclose(_outputs(load_run(old), kind), _outputs(load_run(runs[kind]), kind),
                               atol=1e-6)


def test_a_token_run_loads_as_a_tagger(runs: dict[str, Path]) -> None:
    from lmforge.runs.kinds import run_kind
    from lmforge.runs.load import load_run

    assert run_kind(runs[TOKENS]) == TOKENS
    tagger = load_run(runs[TOKENS])
    assert f"{type(tagger).__module__}.{type(tagger).__name__}" == BACKENDS[TOKENS]
    assert [len(t) for t in tagger.tag(SENTENCES)] == [4, 1]  # type: ignore[attr-defined]


def test_an_ensemble_names_what_its_model_dir_holds(runs: dict[str, Path]) -> None:
    from lmforge.runs.kinds import model_kind
    from lmforge.runs.load import load_model_part

    manifest = json.loads((runs[ENSEMBLE] / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert {k: manifest[k] for k in ("kind", "format", "model")} == \
        {"kind": ENSEMBLE, "format": 1, "model": TRANSFORMERS}
    assert set(manifest) == {"kind", "format", "model", "created", "lmforge_version"}
    assert model_kind(runs[ENSEMBLE]) == TRANSFORMERS
    assert type(load_model_part(runs[ENSEMBLE])).__name__ == "Classifier"


def test_a_run_being_written_loads_without_metrics(runs: dict[str, Path], tmp_path: Path) -> None:
    from lmforge.runs.load import load_run

    run = tmp_path / "half"
    shutil.copytree(runs[TFIDF], run)
    (run / "metrics.json").unlink()
    with pytest.raises(RunDirError, match="metrics.json missing"):
        load_run(run)
    assert load_run(run, complete=False).classes_ == LABELS


@pytest.mark.parametrize(("manifest", "message"), [
    ({"kind": "tfidf", "format": 2}, r"written by a newer lmforge \(format 2\); upgrade"),
    ({"kind": "hologram", "format": 1}, r"unknown kind of run 'hologram' \(lmforge knows "
                                         r"transformers, setfit, tfidf, onnx, ensemble, tokens\)"),
    ({"kind": "ensemble", "format": 1, "model": "ensemble"}, r"unknown kind 'ensemble' of the "
                                                              r"ensemble's model/"),
    (["tfidf"], r"expected a mapping with \"kind\" and \"format\""),
])
def test_a_bad_manifest_says_what_to_do(runs: dict[str, Path], tmp_path: Path,
                                        manifest: object, message: str) -> None:
    from lmforge.runs.load import load_run

    run = tmp_path / "bad"
    shutil.copytree(runs[TFIDF], run)
    write_json(run / MANIFEST_FILE, manifest)
    with pytest.raises(RunDirError, match=message):
        load_run(run)
    (run / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(RunDirError, match=r"cannot read '.*run.json'.*delete run.json"):
        load_run(run)


def test_write_manifest_refuses_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a kind of run: 'hologram'"):
        write_manifest(tmp_path, "hologram")
