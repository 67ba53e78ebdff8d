"""The real default model, fine-tuned briefly, exported to ONNX int8 (about 2-3 minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "src" / "lmforge" / "recipes" / "data"


def test_default_model_int8_export_keeps_accuracy_on_rotten_tomatoes(tmp_path: Path) -> None:
    import lmforge
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run
    from lmforge.inference.onnx import OnnxClassifier
    from lmforge.runs.load import load_run

    run = lmforge.train(
        data=str(DATA / "rotten_tomatoes_train.csv"), test=str(DATA / "rotten_tomatoes_test.csv"),
        out=str(tmp_path / "run"), epochs=1, lr=1e-4, batch_size=32, max_length=64, seed=0,
        validation_fraction=0.0, max_train_samples=1500, show_progress=False,
    ).run_dir
    result = export_run(ExportConfig(run_dir=str(run), out=str(tmp_path / "int8"), int8=True,
                                     latency_runs=5, throughput_texts=64))
    original, fp32, int8 = result.rows
    assert original.test_n == fp32.test_n == int8.test_n > 2500  # the whole RT test split
    assert original.accuracy > 0.72  # it learned something: the comparison means something
    assert abs(fp32.accuracy - original.accuracy) <= 0.001
    assert abs(int8.accuracy - original.accuracy) <= 0.005  # within 0.5 point
    assert int8.size_mb < 0.3 * original.size_mb
    parity = json.loads((result.out / "metrics.json").read_text())["export"]["parity"]
    assert parity["fp32"]["max_abs_diff"] <= 1e-4
    # ~70 sample texts against a model trained on 1,500 reviews for one epoch: many are near
    # ties, so a handful flip under int8 (3-4 seen on the same machine); accuracy above is the
    # real guarantee, this only says that int8 is not reading something else
    assert parity["int8"]["same_top_label"] >= 0.9
    clf = load_run(result.out)
    assert isinstance(clf, OnnxClassifier)
    assert clf.predict(["A gripping, beautifully acted film.",
                        "A tedious mess with no idea what it wants to be."]) == ["fresh", "rotten"]
