"""Pruning and distillation on a tiny run: fewer parameters, the result loads and predicts,
the report has every row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.compress.conftest import FAST_BENCH

TEXTS = ["the film was excellent wonderful", "the plot was awful boring", "ok"]
TUNE = {"epochs": 1, "batch_size": 16, "show_progress": False}


def report_rows(run: Path) -> list[str]:
    import itertools

    lines = (run / "report.md").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| "))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines[first:])  # the first table
    return [line.split(" | ")[0].lstrip("| ") for line in table if line.startswith("| ")][1:]


def params(run: Path) -> list[int]:
    rows = json.loads((run / "metrics.json").read_text())["comparison"]["rows"]
    return [r["parameters"] for r in rows]


def test_prune_heads_shrinks_loads_predicts_and_exports(tiny_run: Path, tmp_path: Path) -> None:
    import numpy as np

    from lmforge.compress.config import ExportConfig, PruneConfig
    from lmforge.compress.export import export_run
    from lmforge.compress.prune import prune_run
    from lmforge.models.structure import heads_per_layer
    from lmforge.runs.load import load_run

    result = prune_run(PruneConfig(run_dir=str(tiny_run), out=str(tmp_path / "pruned"),
                                   heads=0.5, importance_samples=64, **TUNE, **FAST_BENCH))
    before, after = params(result.out)
    assert after < before
    clf = load_run(result.out)
    assert sum(heads_per_layer(clf.model)) == 4 and min(heads_per_layer(clf.model)) >= 1
    assert set(clf.predict(TEXTS)) <= {"neg", "pos"}
    assert report_rows(result.out) == ["original", "pruned"]
    metrics = json.loads((result.out / "metrics.json").read_text())
    assert metrics["prune"]["method"] == "heads"
    # the run's training split: its data minus the 10% validation carve-out
    assert 100 <= metrics["prune"]["recovery"]["examples"] < 120
    assert metrics["test"]["n"] == 40
    # a head-pruned run exports like any other
    onnx = export_run(ExportConfig(run_dir=str(result.out), out=str(tmp_path / "pruned-onnx"),
                                   **FAST_BENCH))
    diff = np.abs(load_run(onnx.out).logits(TEXTS) - clf.logits(TEXTS)).max()
    assert diff <= 1e-4


def test_prune_layers_gives_a_plain_transformers_model(tiny_run: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from lmforge.compress.config import PruneConfig
    from lmforge.compress.prune import prune_run
    from lmforge.runs.load import load_run

    result = prune_run(PruneConfig(run_dir=str(tiny_run), out=str(tmp_path / "one-layer"),
                                   layers=1, **TUNE, **FAST_BENCH))
    model = AutoModelForSequenceClassification.from_pretrained(str(result.out / "model"))
    assert model.config.num_hidden_layers == 1
    before, after = params(result.out)
    assert after < before
    assert set(load_run(result.out).predict(TEXTS)) <= {"neg", "pos"}
    assert report_rows(result.out) == ["original", "pruned"]


def test_distill_to_fewer_layers(tiny_run: Path, tmp_path: Path) -> None:
    from lmforge.compress.config import DistillConfig
    from lmforge.compress.distill import distill_run
    from lmforge.runs.load import load_run
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "unlabelled-pool.csv", sentiment_rows(80, seed=5))
    result = distill_run(DistillConfig(teacher=str(tiny_run), student="layers:1", data=str(data),
                                       out=str(tmp_path / "student"), **TUNE, **FAST_BENCH))
    teacher_params, student_params = params(result.out)
    assert student_params < teacher_params
    clf = load_run(result.out)
    assert clf.classes_ == ["neg", "pos"] and set(clf.predict(TEXTS)) <= {"neg", "pos"}
    assert report_rows(result.out) == ["teacher", "student"]
    info = json.loads((result.out / "metrics.json").read_text())["distill"]
    assert info["teacher_layers_kept"] == [0] and info["examples"] == 80


def test_distill_to_a_small_config(tiny_run: Path, tmp_path: Path) -> None:
    from lmforge.compress.config import DistillConfig
    from lmforge.compress.distill import distill_run
    from lmforge.runs.load import load_run
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "train.csv", sentiment_rows(48, seed=6))
    result = distill_run(DistillConfig(
        teacher=str(tiny_run), student="config:hidden=16,layers=1,heads=2,intermediate=32",
        data=str(data), out=str(tmp_path / "small"), **TUNE, **FAST_BENCH))
    model = load_run(result.out).model
    assert model.config.hidden_size == 16 and model.config.num_hidden_layers == 1
    teacher_params, student_params = params(result.out)
    assert student_params < teacher_params


def test_distillation_loss_matches_its_definition() -> None:
    import torch
    import torch.nn.functional as F  # noqa: N812

    from lmforge.compress.distill import distillation_loss

    student = torch.tensor([[1.0, -1.0], [0.2, 0.3]])
    teacher = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    gold = torch.tensor([[0.0], [1.0]])
    t, alpha = 2.0, 0.7
    loss = distillation_loss("single", 2, t, alpha)(student, torch.cat([gold, teacher], 1))
    p_teacher = F.softmax(teacher / t, -1)
    kl = (p_teacher * (p_teacher.log() - F.log_softmax(student / t, -1))).sum(-1).mean()
    expected = alpha * t * t * kl + (1 - alpha) * F.cross_entropy(student, gold[:, 0].long())
    assert torch.allclose(loss, expected, atol=1e-6)
    # a student equal to its teacher pays no distillation loss
    same = distillation_loss("single", 2, t, 1.0)(teacher, torch.cat([gold, teacher], 1))
    assert abs(float(same)) < 1e-6


@pytest.mark.parametrize("spec, message", [
    ("layers:0", "--student layers:0: N must be a whole number >= 1"),
    ("config:hidden=16,depth=2", "--student config:hidden=16,depth=2: unknown key 'depth'"),
])
def test_bad_student_specs(spec: str, message: str) -> None:
    from lmforge.compress.distill import parse_student
    from lmforge.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        parse_student(spec)
