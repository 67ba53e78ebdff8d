"""ONNX export of a tiny run: parity with PyTorch, the exported run loads, the report; the
fused graph, the int8 variants within stated tolerances, what the run records, the options."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.compress.conftest import FAST_BENCH

# Stated tolerances (max abs difference on logits, PyTorch vs ONNX Runtime):
FP32_TOLERANCE = 1e-4  # same arithmetic, different kernels
INT8_TOLERANCE = 0.05  # int8 weights; this tiny model's logits are O(0.1-1)

TEXTS = [
    "the film was excellent wonderful",
    "the plot was awful boring",
    "ok",
    "a long one " * 60,  # over max_length: truncated the same way on both sides
    "the acting was quite brilliant and moving, the story really superb",
]


@pytest.fixture(scope="module")
def exported(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run

    out = tmp_path_factory.mktemp("export") / "onnx-int8"
    export_run(ExportConfig(run_dir=str(tiny_run), out=str(out), int8=True, **FAST_BENCH))
    return out


@pytest.fixture(scope="module")
def exported_fp32(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run

    out = tmp_path_factory.mktemp("export") / "onnx-fp32"
    export_run(ExportConfig(run_dir=str(tiny_run), out=str(out), **FAST_BENCH))
    return out


def test_fp32_logits_match_pytorch(tiny_run: Path, exported_fp32: Path) -> None:
    import numpy as np

    from lmforge.inference.onnx import OnnxClassifier
    from lmforge.runs.load import load_run

    torch_clf, onnx_clf = load_run(tiny_run), load_run(exported_fp32)
    assert isinstance(onnx_clf, OnnxClassifier)
    expected = torch_clf.logits(TEXTS)
    assert np.abs(onnx_clf.logits(TEXTS) - expected).max() <= FP32_TOLERANCE
    # dynamic axes: one text at a time (batch 1, other lengths) gives the same
    single = np.concatenate([onnx_clf.logits([t]) for t in TEXTS])
    assert np.abs(single - expected).max() <= FP32_TOLERANCE
    assert onnx_clf.predict(TEXTS) == torch_clf.predict(TEXTS)


def test_int8_logits_within_tolerance_and_file_smaller(tiny_run: Path, exported: Path,
                                                       exported_fp32: Path) -> None:
    import numpy as np

    from lmforge.compress.measure import is_quantized
    from lmforge.runs.load import load_run

    onnx_clf = load_run(exported)
    assert is_quantized(onnx_clf.onnx_path)
    diff = np.abs(onnx_clf.logits(TEXTS) - load_run(tiny_run).logits(TEXTS)).max()
    assert diff <= INT8_TOLERANCE
    size = (exported / "model" / "model.onnx").stat().st_size
    assert size < 0.5 * (exported_fp32 / "model" / "model.onnx").stat().st_size
    assert sorted(p.name for p in (exported / "model").glob("*.onnx")) == ["model.onnx"]


def test_exported_dir_is_a_run_dir_with_the_classifier_surface(exported: Path) -> None:
    from lmforge.runs.load import load_run

    for name in ("model/model.onnx", "model/config.json", "model/tokenizer.json", "config.yaml",
                 "metrics.json", "report.md", "report.png"):
        assert (exported / name).is_file(), name
    clf = load_run(exported)
    assert clf.classes_ == ["neg", "pos"] and clf.labels == ["neg", "pos"]
    assert clf.task == "single" and clf.max_length == 64
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (5, 2) and abs(proba.sum(axis=1) - 1).max() < 1e-5
    assert clf.decode(proba) == clf.predict(TEXTS)
    assert set(clf.predict(TEXTS)) <= {"neg", "pos"}


def test_onnx_runs_without_torch_in_the_graph_inputs(exported: Path) -> None:
    import onnx

    graph = onnx.load(str(exported / "model" / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence"]


def test_report_and_metrics_have_every_row(exported: Path) -> None:
    from lmforge.compress.report import COLUMNS

    report = (exported / "report.md").read_text(encoding="utf-8")
    lines = report.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| "))
    table = [line for line in itertools.takewhile(lambda line: line.startswith("|"), lines[first:])
             if line.startswith("| ")]  # the first table (a per-class one may follow)
    assert table[0] == "| " + " | ".join(COLUMNS) + " |"
    assert [row.split(" | ")[0] for row in table[1:]] == ["| original", "| ONNX fp32",
                                                          "| ONNX int8"]
    assert [row.split(" | ")[1] for row in table[1:]] == ["pytorch", "onnx-fp32", "onnx-int8"]
    assert "n/a" not in report  # test data came from the run's config.yaml
    assert "![comparison](report.png)" in report
    metrics = json.loads((exported / "metrics.json").read_text())
    assert metrics["test"]["n"] == 40
    parity = metrics["export"]["parity"]
    assert parity["fp32"]["max_abs_diff"] <= FP32_TOLERANCE
    assert parity["int8"]["max_abs_diff"] <= INT8_TOLERANCE
    rows = metrics["comparison"]["rows"]
    assert [r["name"] for r in rows] == ["original", "ONNX fp32", "ONNX int8"]
    for row in rows:
        assert row["parameters"] > 0 and row["size_mb"] > 0 and row["throughput"] > 0
        assert row["latency_p95_ms"] >= row["latency_p50_ms"] > 0
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["macro_f1"] <= 1
    # quantization keeps the parameter count and cuts the file size
    assert rows[1]["parameters"] == rows[2]["parameters"]
    assert rows[2]["size_mb"] < rows[1]["size_mb"]


def test_report_png_is_an_image(exported: Path) -> None:
    assert (exported / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_load_run_picks_pytorch_for_a_training_run(tiny_run: Path) -> None:
    from lmforge.inference.torch import Classifier
    from lmforge.runs.load import load_run

    assert isinstance(load_run(tiny_run), Classifier)


def test_compare_prints_the_same_table(tiny_run: Path, exported: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from tests.compress.conftest import FAST_BENCH_FLAGS, run_cli

    out = tmp_path / "cmp.md"
    code = run_cli(["compare", str(tiny_run), str(exported), "--out", str(out),
                    *FAST_BENCH_FLAGS])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| run | pytorch |" in printed and f"| {exported.name} | onnx-int8 |" in printed
    assert out.is_file() and (tmp_path / "cmp.png").is_file()


# ------------------------------------------------------------------ the fast graph

LAYERS = 2  # the tiny_run fixture's encoder


def test_export_fuses_attention_of_every_layer(exported: Path) -> None:
    from lmforge.compress.onnx_graph import fused_op_counts

    recorded = json.loads((exported / "metrics.json").read_text())["export"]
    assert recorded["optimized"] is True
    assert recorded["fused_ops"]["Attention"] == LAYERS
    assert recorded["fused_ops"]["EmbedLayerNormalization"] == 1
    assert recorded["fused_ops"]["SkipLayerNormalization"] == 2 * LAYERS
    # the int8 graph is quantized from the fused one: attention became QAttention
    ops = fused_op_counts(exported / "model" / "model.onnx")
    assert "Attention" not in ops and ops["SkipLayerNormalization"] == 2 * LAYERS


def test_export_records_the_int8_variant_and_flips(exported: Path) -> None:
    metrics = json.loads((exported / "metrics.json").read_text())
    record = metrics["export"]["int8_variant"]
    assert record["name"] == "dynamic, per-channel, all quantizable ops"
    rows = {r["name"]: r for r in metrics["comparison"]["rows"]}
    assert record["accuracy_fp32"] == rows["ONNX fp32"]["accuracy"]
    assert record["accuracy_change_points"] == pytest.approx(
        100 * (rows["ONNX int8"]["accuracy"] - rows["ONNX fp32"]["accuracy"]))
    assert 0 <= record["flipped_share"] <= 1 and record["flip_texts"] == 40
    assert "int8 variant: dynamic, per-channel" in (exported / "report.md").read_text()


def test_eager_trace_fuses_and_each_int8_variant_stays_within_tolerance(
        tiny_run: Path, tmp_path: Path) -> None:
    import numpy as np
    import onnx

    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_fast_graph, quantize_variant
    from lmforge.compress.measure import is_quantized
    from lmforge.runs.kinds import load_onnx_classifier
    from lmforge.runs.load import load_run

    clf = load_run(tiny_run)
    plain, fused, counts = export_fast_graph(clf.model, clf.tokenizer, tmp_path, 17)
    # traced with eager attention, then the model's own (SDPA) attention is back
    assert clf.model.config._attn_implementation == "sdpa"
    assert fused is not None and counts["Attention"] == LAYERS
    expected = clf.logits(TEXTS)

    def max_diff(path: Path) -> float:
        onnx_clf = load_onnx_classifier(tiny_run, onnx_path=path, num_threads=1)
        return float(np.abs(onnx_clf.logits(TEXTS) - expected).max())

    assert max_diff(plain) <= FP32_TOLERANCE and max_diff(fused) <= FP32_TOLERANCE
    variants = {
        "matmul": (ExportConfig(int8_ops="matmul", per_channel=False), fused),
        # static: calibrated on the run's training split, read back from its config.yaml
        "static": (ExportConfig(int8_mode="static", calibration_texts=32), plain),
    }
    for name, (config, src) in variants.items():
        dst = tmp_path / f"{name}.onnx"
        quantize_variant(config, clf, src, dst)
        assert is_quantized(dst), name
        assert max_diff(dst) <= INT8_TOLERANCE, name
    ops = {n.op_type for n in onnx.load(str(tmp_path / "matmul.onnx")).graph.node}
    assert "MatMulInteger" in ops and "Attention" in ops and "QAttention" not in ops
    assert "QLinearMatMul" in {n.op_type for n in onnx.load(str(tmp_path / "static.onnx")).graph.node}


def test_export_options_from_the_command_line() -> None:
    from lmforge.cli import build_parser
    from lmforge.compress.config import ExportConfig
    from lmforge.config.cli import config_from_args

    args = build_parser().parse_args(
        ["export", "RUN", "--out", "OUT", "--int8", "--int8-mode", "static", "--int8-ops",
         "matmul", "--no-per-channel", "--no-optimize", "--calibration-texts", "64"])
    config = config_from_args(ExportConfig, args)
    assert (config.int8, config.int8_mode, config.int8_ops, config.per_channel,
            config.optimize, config.calibration_texts) == (True, "static", "matmul", False,
                                                           False, 64)
    defaults = config_from_args(ExportConfig, build_parser().parse_args(
        ["export", "RUN", "--out", "OUT"]))
    assert (defaults.optimize, defaults.int8_mode, defaults.per_channel) == (True, "dynamic",
                                                                              True)


def test_bad_int8_options_are_all_reported() -> None:
    from lmforge.compress.config import ExportConfig
    from lmforge.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        ExportConfig(run_dir="r", out="o", int8_mode="weekly", int8_ops="some",  # type: ignore[arg-type]
                     calibration_texts=0).validate()
    message = str(err.value)
    assert "int8_mode: must be dynamic or static, got 'weekly'" in message
    assert "int8_ops: must be all or matmul, got 'some'" in message
    assert "calibration_texts: must be >= 1, got 0" in message


def test_pytorch_int8_copy_within_tolerance_and_the_run_untouched(tiny_run: Path) -> None:
    import numpy as np

    from lmforge.runs.load import load_run

    clf = load_run(tiny_run)
    assert clf.model.config._attn_implementation == "sdpa"  # the PyTorch path's attention
    expected = clf.logits(TEXTS)
    int8 = clf.to_int8()
    assert "quantized" in type(int8.model.classifier).__module__
    assert "quantized" not in type(clf.model.classifier).__module__
    assert np.abs(int8.logits(TEXTS) - expected).max() <= INT8_TOLERANCE
    assert np.array_equal(clf.logits(TEXTS), expected)


def test_pad_numpy_matches_the_torch_padding() -> None:
    import numpy as np

    from lmforge.data.tokenize import pad_batch
    from lmforge.inference.onnx import pad_numpy

    rows = [[101, 7, 8, 102], [101, 102], [101, 5, 6, 7, 9, 102]]
    got, want = pad_numpy(rows, 0), pad_batch(rows, 0)
    for key in ("input_ids", "attention_mask"):
        assert got[key].dtype == np.int64
        assert np.array_equal(got[key], want[key].numpy())
