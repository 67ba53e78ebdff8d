"""Turn a hand-built run directory into an ensemble run (seconds, no training)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import sentiment_rows


def make_ensemble_run(run: Path, out: Path, weight: float = 0.5, choice: str = "blend",
                      rows: Sequence[tuple[str, str]] | None = None) -> Path:
    """A copy of the single-label ``run`` at ``out`` plus a TF-IDF part fitted on ``rows``
    (default: 120 synthetic reviews) and ensemble.json, as ``lmforge train`` writes them."""
    from lmforge.baseline.tfidf import fit_tfidf
    from lmforge.ensemble_run import write_ensemble_files

    shutil.copytree(run, out)
    config = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    rows = list(rows) if rows else sentiment_rows(120, seed=7)
    model = fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], labels)
    write_ensemble_files(out, model, choice, weight, "single", labels)
    return out
