"""Run directories of each kind, built by lmforge's own writers, never by hand.

A test that needs a run gets it the way a user does: ``lmforge.train`` on a tiny
random-init encoder (seconds), ``lmforge.train --model tfidf``, ``export_run`` to ONNX.
So the tests follow the run-directory format wherever it goes (config.yaml,
metrics.json, model/, manifests) instead of re-implementing it.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import FILLER, sentiment_rows, write_csv

# What keeps a tiny run cheap and its kind fixed: no TF-IDF baseline (so no blend with it),
# plain fine-tuning (not SetFit), no progress bar.
TINY_RUN = {"baseline": False, "ensemble": "off", "method": "finetune", "show_progress": False,
            "max_length": 64, "eval_batch_size": 32, "batch_size": 16}


@contextlib.contextmanager
def session_rng_kept() -> Iterator[None]:
    """Python's and NumPy's global random state as before: training seeds them (accelerate's
    set_seed), and a fixture must not reseed what later tests draw from (schemathesis and
    hypothesis draw some choices from the global ``random``)."""
    import numpy as np

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def tiny_encoder(out: Path, *, layers: int = 2, heads: int = 2, hidden: int = 32,
                 seed: int = 0) -> Path:
    """A random-init BERT encoder of this shape with the default tokenizer, saved to ``out``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from lmforge.models.registry import resolve_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden, max_position_embeddings=128)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def labelled_rows(labels: Sequence[str], n: int, task: str = "single",
                  seed: int = 0) -> list[tuple[str, str]]:
    """Texts whose label is written in them (learnable in one epoch); multi-label rows carry
    one or two labels joined by '|', regression rows a number."""
    if task == "single" and tuple(labels) == ("neg", "pos"):
        return sentiment_rows(n, seed=seed)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        filler = " ".join(rng.choice(FILLER) for _ in range(rng.randint(3, 8)))
        if task == "regression":
            value = rng.uniform(0, 5)
            rows.append((f"{filler} {'great' if value > 2.5 else 'awful'} #{i}", f"{value:.2f}"))
            continue
        chosen = [labels[i % len(labels)]]
        if task == "multi" and rng.random() < 0.5:
            chosen.append(labels[(i + 1) % len(labels)])
        rows.append((f"{filler} {' '.join(chosen)} #{i}", "|".join(chosen)))
    return rows


def train_run(root: Path, model_dir: Path, *, labels: Sequence[str] = ("neg", "pos"),
              task: str = "single", rows: Sequence[tuple[str, str]] | None = None,
              test_rows: Sequence[tuple[str, str]] | None = None, seed: int = 0,
              epochs: int = 1, lr: float = 1e-4, **settings: Any) -> Path:
    """``lmforge.train`` of the encoder in ``model_dir`` on ``rows`` (default: 120 texts of
    ``labels``/``task``), tested on ``test_rows`` (default: 40 more) -> ``root/run``."""
    import lmforge

    root.mkdir(parents=True, exist_ok=True)
    train_csv = write_csv(root / "train.csv", list(rows or labelled_rows(labels, 120, task, seed)))
    test_csv = write_csv(root / "test.csv",
                         list(test_rows or labelled_rows(labels, 40, task, seed + 100)))
    options = {**TINY_RUN, "task": task, "seed": seed, "epochs": epochs, "lr": lr, **settings}
    with session_rng_kept():
        return lmforge.train(data=str(train_csv.resolve()), test=str(test_csv.resolve()),
                             out=str(root / "run"), model=str(model_dir), **options).run_dir


def make_run(root: Path, *, layers: int = 2, heads: int = 2, hidden: int = 32,
             labels: Sequence[str] = ("neg", "pos"), task: str = "single", seed: int = 0,
             **settings: Any) -> Path:
    """A PyTorch run of a tiny random-init encoder of this shape, trained one epoch."""
    root.mkdir(parents=True, exist_ok=True)
    encoder = tiny_encoder(root / "encoder", layers=layers, heads=heads, hidden=hidden, seed=seed)
    return train_run(root, encoder, labels=labels, task=task, seed=seed, **settings)


def train_tfidf_run(root: Path, rows: Sequence[tuple[str, str]] | None = None) -> Path:
    """A real `lmforge train --model tfidf` run (seconds) on in-test data."""
    import lmforge

    root.mkdir(parents=True, exist_ok=True)
    data = write_csv(root / "reviews.csv", list(rows) if rows else sentiment_rows(300))
    with session_rng_kept():
        return lmforge.train(data=str(data), out=str(root / "run"), model="tfidf",
                             show_progress=False).run_dir


def export_onnx_run(run: Path, out: Path, **settings: Any) -> Path:
    """`lmforge export RUN --out OUT`: an ONNX run directory, measured cheaply."""
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run

    bench = {"threads": 1, "latency_runs": 3, "throughput_texts": 64, **settings}
    export_run(ExportConfig(run_dir=str(run), out=str(out), **bench))
    return out


def kill_at_first_checkpoint(proc: Any, state_file: Path, timeout: float = 600) -> None:
    """SIGKILL the ``lmforge`` subprocess ``proc`` as soon as its resumable state file appears
    (or it exits, or ``timeout`` seconds pass); assert it died by the signal."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while not state_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
