"""Turn a hand-built run directory into an ensemble run (seconds, no training)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.conftest import sentiment_rows


def make_ensemble_run(run: Path, out: Path, weight: float = 0.5, choice: str = "blend",
                      rows: Sequence[tuple[str, Any]] | None = None, task: str = "single") -> Path:
    """A copy of ``run`` at ``out`` plus a TF-IDF part fitted on ``rows`` (default: 120
    synthetic reviews; multi-label: tagged "long" too when over 7 words; regression: 90 or
    10) and ensemble.json, as ``lmforge train`` writes them."""
    from lmforge.models.tfidf import fit_tfidf
    from lmforge.runs.ensemble import write_ensemble_files

    shutil.copytree(run, out)
    config = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    labels = [] if task == "regression" else [config["id2label"][str(i)]
                                              for i in range(len(config["id2label"]))]
    if rows is None:
        rows = sentiment_rows(120, seed=7)
        if task == "multi":
            rows = [(t, (y, "long") if len(t.split()) > 7 else (y,)) for t, y in rows]
        elif task == "regression":
            rows = [(t, 90.0 if y == "pos" else 10.0) for t, y in rows]
    model = fit_tfidf(task, [t for t, _ in rows], [y for _, y in rows], labels)
    write_ensemble_files(out, model, choice, weight, task, labels)
    return out
