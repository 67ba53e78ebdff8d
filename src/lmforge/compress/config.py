"""One dataclass per command of compress/. Each field's docstring is its --help text;
``validate()`` reports every problem at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lmforge.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.compress.measure import BenchSettings


@dataclass
class BenchFields:
    threads: int = 2
    """CPU threads for the speed measurements of the report (PyTorch and ONNX Runtime)."""
    latency_runs: int = 50
    """Single-text calls timed for the latency p50/p95 of the report."""
    throughput_texts: int = 512
    """Texts pushed through in batches of 32 for the throughput of the report."""

    def bench_problems(self) -> list[str]:
        return [f"{name}: must be >= 1, got {getattr(self, name)}"
                for name in ("threads", "latency_runs", "throughput_texts")
                if getattr(self, name) < 1]

    def bench(self) -> BenchSettings:
        from lmforge.compress.measure import BenchSettings

        return BenchSettings(threads=self.threads, latency_runs=self.latency_runs,
                             throughput_texts=self.throughput_texts)


def _raise(what: str, problems: list[str]) -> None:
    if problems:
        raise ConfigError(f"invalid {what}: " + "; ".join(problems))


@dataclass
class ExportConfig(BenchFields):
    run_dir: str = ""
    """Run directory to export (written by `lmforge train`, `compress prune` or `distill`)."""
    out: str = ""
    """Directory to write: a run directory whose model is model/model.onnx."""
    onnx: bool = True
    """Export to ONNX (the only format for now)."""
    int8: bool = False
    """Quantize the weights to int8 with ONNX Runtime's dynamic quantization (about 4x smaller,
    faster on CPU; accuracy change shown in the report)."""
    tolerance: float = 1e-4
    """Largest allowed max-abs difference between PyTorch and ONNX fp32 logits; the export fails
    above it."""
    optimize: bool = True
    """Fuse the graph with ONNX Runtime's transformer optimizer (Attention,
    EmbedLayerNormalization, SkipLayerNormalization, BiasGelu; BERT-family encoders), traced
    with eager attention so that attention fuses too. --no-optimize keeps the plain graph."""
    int8_mode: Literal["dynamic", "static"] = "dynamic"
    """With --int8: 'dynamic' quantizes activations per batch at run time; 'static' uses
    ranges calibrated on training texts (--calibration-texts)."""
    int8_ops: Literal["all", "matmul"] = "all"
    """With --int8: quantize every op ONNX Runtime can ('all': MatMul, Attention, embeddings)
    or the MatMuls only ('matmul')."""
    per_channel: bool = True
    """With --int8: one weight scale per output channel (--no-per-channel: one per matrix)."""
    calibration_texts: int = 256
    """With --int8-mode static: training texts the activation ranges are calibrated on."""
    calibration_data: str | None = None
    """With --int8-mode static: labelled file to calibrate on (default: the run's training
    split)."""
    int8_tolerance: float = 1.0
    """Largest allowed max-abs difference between PyTorch and int8 logits. Quantization error is
    expected (about 0.5 on a fine-tuned MiniLM); this catches a broken model. The report shows the
    accuracy change."""
    opset: int = 17
    """ONNX opset version."""
    data: str | None = None
    """Labelled file to score the models on (default: the run's test file or test split)."""
    overwrite: bool = False
    """Replace --out if it exists."""

    def validate(self) -> None:
        problems = self.bench_problems()
        if not self.run_dir:
            problems.append("run_dir: a run directory is required")
        if not self.out:
            problems.append("out: an output directory is required (--out DIR)")
        if not self.onnx:
            problems.append("onnx: ONNX is the only export format; pass --onnx")
        if not self.tolerance > 0:
            problems.append(f"tolerance: must be > 0, got {self.tolerance}")
        if not self.int8_tolerance > 0:
            problems.append(f"int8_tolerance: must be > 0, got {self.int8_tolerance}")
        if self.int8_mode not in ("dynamic", "static"):
            problems.append(f"int8_mode: must be dynamic or static, got {self.int8_mode!r}")
        if self.int8_ops not in ("all", "matmul"):
            problems.append(f"int8_ops: must be all or matmul, got {self.int8_ops!r}")
        if self.calibration_texts < 1:
            problems.append(f"calibration_texts: must be >= 1, got {self.calibration_texts}")
        if not 13 <= self.opset <= 21:
            problems.append(f"opset: must be between 13 and 21, got {self.opset}")
        _raise("export settings", problems)


@dataclass
class TuneFields:
    epochs: int = 1
    """Passes over the training data."""
    lr: float = 5e-5
    """Peak learning rate of AdamW (linear warmup then decay)."""
    batch_size: int = 32
    """Training examples per optimizer step."""
    max_train_samples: int | None = 4000
    """Train on a stratified subset of this many examples (empty: all)."""
    seed: int = 0
    """Seed of sampling, shuffling and any new weights."""
    show_progress: bool = True
    """Show a progress bar on stderr while training."""

    def tune_problems(self) -> list[str]:
        problems = []
        if self.epochs < 0:
            problems.append(f"epochs: must be >= 0, got {self.epochs}")
        if not 0 < self.lr < 1:
            problems.append(f"lr: must be in (0, 1), got {self.lr}")
        if self.batch_size < 1:
            problems.append(f"batch_size: must be >= 1, got {self.batch_size}")
        if self.max_train_samples is not None and self.max_train_samples < 1:
            problems.append(f"max_train_samples: must be >= 1 when given, got "
                            f"{self.max_train_samples}")
        return problems


@dataclass
class PruneConfig(TuneFields, BenchFields):
    run_dir: str = ""
    """Run directory to prune (a PyTorch run; export to ONNX afterwards)."""
    out: str = ""
    """Run directory to write for the pruned model."""
    heads: float | None = None
    """Fraction of all attention heads to remove, least important first (0 < F < 1). Importance:
    gradient of the loss w.r.t. a gate on each head (Michel et al. 2019)."""
    layers: int | None = None
    """Number of transformer layers to remove, from the top (Sajjad et al. 2020 found dropping
    top layers the best simple strategy)."""
    importance_samples: int = 512
    """Training examples used to score head importance."""
    train_data: str | None = None
    """Labelled file for importance and the recovery fine-tune (default: the run's training
    split, reproduced from its config.yaml)."""
    data: str | None = None
    """Labelled file to score the models on (default: the run's test file or test split)."""
    overwrite: bool = False
    """Replace --out if it exists."""

    def validate(self) -> None:
        problems = self.bench_problems() + self.tune_problems()
        if not self.run_dir:
            problems.append("run_dir: a run directory is required")
        if not self.out:
            problems.append("out: an output directory is required (--out DIR)")
        if (self.heads is None) == (self.layers is None):
            problems.append("give exactly one of --heads FRACTION or --layers N")
        if self.heads is not None and not 0 < self.heads < 1:
            problems.append(
                f"heads: the fraction of heads to remove must be between 0 and 1 (exclusive), got "
                f"{self.heads}; removing every head would leave no attention at all. "
                "Try --heads 0.3"
            )
        if self.layers is not None and self.layers < 1:
            problems.append(f"layers: the number of layers to remove must be >= 1, got "
                            f"{self.layers}")
        if self.importance_samples < 1:
            problems.append(f"importance_samples: must be >= 1, got {self.importance_samples}")
        _raise("prune settings", problems)


@dataclass
class DistillConfig(TuneFields, BenchFields):
    teacher: str = ""
    """Run directory of the trained teacher."""
    student: str = ""
    """The smaller model: 'layers:N' (the teacher with N layers, initialised from its layers),
    'config:hidden=H,layers=L,heads=A,intermediate=I' (the teacher's architecture at that size,
    random init, the teacher's tokenizer), or a model directory / registry name (e.g. default)."""
    data: str = ""
    """Labelled training file for the student (the teacher scores it once)."""
    out: str = ""
    """Run directory to write for the student."""
    test: str | None = None
    """Labelled file to score teacher and student on (default: the teacher's test file or split)."""
    temperature: float = 2.0
    """Softmax temperature of the distillation loss (Hinton et al. 2015)."""
    alpha: float = 0.5
    """Weight of the distillation loss; 1 - alpha goes to the loss on the true labels."""
    overwrite: bool = False
    """Replace --out if it exists."""

    def validate(self) -> None:
        problems = self.bench_problems() + self.tune_problems()
        for name in ("teacher", "student", "data", "out"):
            if not getattr(self, name):
                problems.append(f"{name}: required (--{name})")
        if not self.temperature > 0:
            problems.append(f"temperature: must be > 0, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            problems.append(f"alpha: must be in [0, 1], got {self.alpha}")
        _raise("distill settings", problems)
