"""What a model costs and what it scores: the numbers of every before/after report.

Latency is end to end per call (cleaning + tokenization + forward), the way a
user of ``predict`` or the service sees it. All timings use a fixed thread
count (2 by default) so runs on different machines compare like for like.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Timing texts when a run has no test data: short to long, like reviews.
SAMPLE_TEXTS = (
    "Great film.",
    "The plot was thin but the acting carried it.",
    "A tedious mess with no idea what it wants to be, and far too long for what it has to say.",
    "A gripping, beautifully acted film that stays with you for days after the credits roll; "
    "the score and the photography are as good as anything this year.",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".onnx.data", ".pt")


@dataclass
class BenchSettings:
    threads: int = 2
    latency_runs: int = 50  # single-text calls timed for p50/p95
    throughput_batch: int = 32
    throughput_texts: int = 512  # texts pushed through in batches of throughput_batch
    warmup: int = 3
    rounds: int = 1  # timing rounds (compare interleaves them across runs): median, min, max


@dataclass
class Measurement:
    """One row of a before/after report."""

    name: str
    run_dir: str
    backend: str  # pytorch | onnx-fp32 | onnx-int8 | tfidf; an ensemble: pytorch+tfidf, ...
    parameters: int
    size_mb: float
    latency_p50_ms: float
    latency_p95_ms: float
    throughput: float  # texts per second at batch ``throughput_batch``
    accuracy: float | None
    macro_f1: float | None
    test_n: int | None
    test_source: str | None
    test_metrics: dict[str, Any] = field(default_factory=dict, repr=False)
    """The full metrics.json-shaped scores (not part of the table)."""
    throughput_min: float | None = None  # over the timing rounds (``throughput``: the median)
    throughput_max: float | None = None
    latency_p50_min_ms: float | None = None  # the p50 of each round, lowest and highest
    latency_p50_max_ms: float | None = None
    rounds: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "test_metrics"}


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-op thread count is process-wide: set it, then put it back."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def quiet_truncation_logs() -> Iterator[None]:
    """Timing calls the classifier hundreds of times; its per-call truncation notice
    (INFO) would flood the log with one line per call."""
    names = ("lmforge.inference.torch", "lmforge.inference.onnx")
    before = [logging.getLogger(n).level for n in names]
    for n in names:
        logging.getLogger(n).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for n, level in zip(names, before, strict=True):
            logging.getLogger(n).setLevel(level)


def model_file_size_mb(model_dir: Path) -> float:
    """Size of the weight files (tokenizer and config excluded), in MB (10^6 bytes)."""
    total = sum(p.stat().st_size for p in model_dir.iterdir()
                if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    return total / 1e6


def model_dir_size_mb(model_dir: Path) -> float:
    """Every file of ``model_dir``, in MB: a TF-IDF model's n-gram vocabulary is part of the
    model (its weights mean nothing without it)."""
    return sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()) / 1e6


def tfidf_parameters(model: Any) -> int:
    """Coefficients and intercepts the linear model learned. A binary logistic regression
    learns one row (the first label's row is stored as zeros); the idf weights are counted
    document frequencies, not learned, and are left out."""
    rows = 1 if model.task == "single" and model.coef.shape[0] == 2 else model.coef.shape[0]
    return int(rows * (model.coef.shape[1] + 1))


def onnx_parameters(onnx_path: Path) -> int:
    """Elements of the graph's weight tensors (quantized ones count once, like fp32)."""
    import math

    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    # scales and zero points of quantized weights are bookkeeping, not parameters
    return int(sum(math.prod(t.dims) for t in graph.initializer
                   if not t.name.endswith(("_scale", "_zero_point"))))


def is_quantized(onnx_path: Path) -> bool:
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(n.op_type in {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul",
                             "DynamicQuantizeMatMul", "QGemm", "QAttention",
                             "QEmbedLayerNormalization", "QuantizeLinear"} for n in graph.node)


def backend_of(clf: Any) -> str:
    if getattr(clf, "backend", None) == "ensemble":
        return f"{backend_of(clf.transformer)}+tfidf"
    if getattr(clf, "backend", None) == "tfidf":
        return "tfidf"
    onnx_path = getattr(clf, "onnx_path", None)
    if onnx_path is None:
        return "pytorch"
    return "onnx-int8" if is_quantized(onnx_path) else "onnx-fp32"


def parameters_of(clf: Any) -> int:
    """Parameters of the network, whatever its file format.

    For an exported run this is the count recorded at export time: ONNX constant
    folding merges and reshapes some weights, so counting the graph's tensors
    would shift the number without the network having changed. A TF-IDF run counts its
    linear model's coefficients (``tfidf_parameters``); an ensemble run, both parts'.
    """
    if getattr(clf, "backend", None) == "ensemble":
        return parameters_of(clf.transformer) + tfidf_parameters(clf.baseline.model)
    if backend_of(clf) == "tfidf":
        return tfidf_parameters(clf.model)
    onnx_path = getattr(clf, "onnx_path", None)
    if onnx_path is None:
        from lmforge.models.structure import count_parameters

        return count_parameters(clf.model)
    recorded = _recorded_parameters(Path(clf.run_dir))
    return recorded if recorded is not None else onnx_parameters(onnx_path)


def _recorded_parameters(run_dir: Path) -> int | None:
    import json

    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        return int(metrics["export"]["parameters"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def time_latency(clf: Any, texts: Sequence[str], runs: int, warmup: int) -> list[float]:
    """Milliseconds per single-text ``logits`` call, texts taken in turn."""
    for i in range(warmup):
        clf.logits([texts[i % len(texts)]])
    out = []
    for i in range(runs):
        start = time.perf_counter()
        clf.logits([texts[i % len(texts)]])
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def time_throughput(clf: Any, texts: Sequence[str], batch: int, n_texts: int,
                    warmup: int) -> float:
    """Texts per second, calling ``logits`` on consecutive groups of ``batch`` texts."""
    pool = [texts[i % len(texts)] for i in range(max(n_texts, batch))]
    clf.logits(pool[:batch])
    for _ in range(max(0, warmup - 1)):
        clf.logits(pool[:batch])
    start = time.perf_counter()
    for i in range(0, len(pool), batch):
        clf.logits(pool[i : i + batch])
    return len(pool) / (time.perf_counter() - start)


@dataclass
class Timings:
    """What the timing rounds of one model measured: every single-text latency (ms) and
    the throughput (texts/s) of each round."""

    latencies: list[float] = field(default_factory=list)
    round_p50: list[float] = field(default_factory=list)
    throughputs: list[float] = field(default_factory=list)


def time_rounds(models: Sequence[Any], texts: Sequence[str], bench: BenchSettings) -> list[Timings]:
    """Time every model in ``bench.rounds`` rounds, interleaved (round 1 of each model, then
    round 2 of each, ...), so a spell of load on the machine hits all of them rather than
    one; each round times ``latency_runs / rounds`` single-text calls (at least 1) and
    ``throughput_texts`` texts in batches. Warm-up calls run once per model, first."""
    import statistics

    out = [Timings() for _ in models]
    per_round = max(1, bench.latency_runs // max(1, bench.rounds))
    sizes = [clf.batch_size for clf in models]
    try:
        for clf in models:
            clf.batch_size = max(clf.batch_size, bench.throughput_batch)  # one forward per call
        with torch_threads(bench.threads), quiet_truncation_logs():
            for r in range(max(1, bench.rounds)):
                for clf, t in zip(models, out, strict=True):
                    latencies = time_latency(clf, texts, per_round, bench.warmup if r == 0 else 0)
                    t.latencies += latencies
                    t.round_p50.append(statistics.median(latencies))
                    t.throughputs.append(time_throughput(clf, texts, bench.throughput_batch,
                                                         bench.throughput_texts,
                                                         bench.warmup if r == 0 else 1))
    finally:
        for clf, size in zip(models, sizes, strict=True):
            clf.batch_size = size
    return out


def measure(clf: Any, name: str, test: Any | None, bench: BenchSettings | None = None,
            model_dir: Path | None = None, parameters: int | None = None,
            timings: Timings | None = None, metrics: dict[str, Any] | None = None) -> Measurement:
    """Size, speed at ``bench.threads`` threads, and test scores of a loaded classifier.

    ``clf`` may be a ``Classifier``, an ``OnnxClassifier`` (build it with
    ``num_threads=bench.threads``: ONNX Runtime's count is fixed per session), a TF-IDF
    run's ``TfidfClassifier`` or an ``EnsembleClassifier`` (both parts timed and sized).
    ``timings`` / ``metrics``: measured already (``compare`` times several models
    interleaved and scores them before timing anything).
    """
    import statistics

    from lmforge.compress.rundata import score

    bench = bench or BenchSettings()
    texts = list(test.texts) if test is not None and len(test) else list(SAMPLE_TEXTS)
    backend = backend_of(clf)
    size = size_mb(clf, model_dir)
    if timings is None:
        (timings,) = time_rounds([clf], texts, bench)
    if metrics is None:
        metrics = score(clf, test) if test is not None and len(test) else {}
    row = Measurement(
        name=name, run_dir=str(clf.run_dir), backend=backend,
        parameters=parameters if parameters is not None else parameters_of(clf),
        size_mb=size, latency_p50_ms=percentile(timings.latencies, 50),
        latency_p95_ms=percentile(timings.latencies, 95),
        throughput=statistics.median(timings.throughputs),
        accuracy=metrics.get("accuracy"), macro_f1=metrics.get("macro_f1"),
        test_n=len(test) if test is not None else None,
        test_source=test.source if test is not None else None, test_metrics=metrics,
        throughput_min=min(timings.throughputs), throughput_max=max(timings.throughputs),
        latency_p50_min_ms=min(timings.round_p50), latency_p50_max_ms=max(timings.round_p50),
        rounds=len(timings.throughputs),
    )
    log.info("%s (%s): %d parameters, %.1f MB, p50 %.1f ms, %.0f texts/s at batch %d%s",
             name, backend, row.parameters, row.size_mb, row.latency_p50_ms, row.throughput,
             bench.throughput_batch,
             f", accuracy {row.accuracy:.4f}" if row.accuracy is not None else "")
    return row


def size_mb(clf: Any, model_dir: Path | None = None) -> float:
    """What the model weighs on disk (``model_dir``: where its files are, default
    ``RUN/model``); an ensemble run, both parts (``RUN/model`` and ``RUN/baseline``)."""
    if getattr(clf, "backend", None) == "ensemble":
        from lmforge.runs.ensemble import BASELINE_DIR

        return (size_mb(clf.transformer, model_dir)
                + model_dir_size_mb(Path(clf.run_dir) / BASELINE_DIR))
    backend = backend_of(clf)
    if model_dir is None:
        model_dir = Path(clf.run_dir) / "model"
    if backend == "pytorch":
        return model_file_size_mb(model_dir)
    if backend == "tfidf":
        return model_dir_size_mb(model_dir)
    return os.path.getsize(clf.onnx_path) / 1e6


def size_text(mb: float, unit: bool = True) -> str:
    """A model's size for people: MB with one decimal; under 0.1 MB (a TF-IDF run is often
    kilobytes) whole kB, or, with ``unit=False`` for a table column in MB, three decimals."""
    if mb >= 0.1:
        return f"{mb:.1f} MB" if unit else f"{mb:.1f}"
    return f"{mb * 1000:.0f} kB" if unit else f"{mb:.3f}"
