"""How else could an ensemble run's two parts be combined? Offline, on a finished run.

    .venv/bin/python bench/ensemble_blends.py RUN_DIR [--outputs FILE.npz]

Rebuilds the run's validation and test splits from its ``config.yaml`` (the split
``lmforge train`` made), computes both parts' logits on them (the transformer's take
minutes for long documents; ``--outputs`` caches them), then scores four ways of blending
over the weight grid ``--ensemble auto`` uses (0.00 .. 1.00 step 0.05):

- ``prob``: ``w * p_transformer + (1 - w) * p_baseline`` (what lmforge does);
- ``prob-cal``: the same after temperature scaling of each part, fitted on validation;
- ``logp``: ``w * log p_transformer + (1 - w) * log p_baseline``;
- ``logp-cal``: the same after temperature scaling;

and a multinomial logistic-regression stacker on both parts' log-probabilities, fitted on
validation (C = 0.01 .. 10). For each it prints the weight validation picks (by accuracy;
lmforge picks by macro-F1, the loss breaking ties), the test
accuracy there, and the test accuracy at every tenth weight: the last is for analysis only
(choosing on test would be cheating), to see what a better combination could reach.
Single-label runs only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def part_outputs(run: Path) -> dict[str, Any]:
    import numpy as np
    import yaml

    import lmforge
    from lmforge.config.train import TrainConfig
    from lmforge.training.prepare import prepare

    cfg = TrainConfig(**yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")))
    parts = prepare(cfg).parts
    model = lmforge.load(str(run))
    if getattr(model, "backend", None) != "ensemble":
        raise SystemExit(f"{run}: not an ensemble run (its final model is one part)")
    out: dict[str, Any] = {}
    for name in ("validation", "test"):
        texts = list(parts[name].texts)
        out[f"{name}_baseline"] = np.asarray(model.baseline.logits(texts))
        out[f"{name}_transformer"] = np.asarray(model.transformer.logits(texts))
        out[f"{name}_y"] = np.array([model.labels.index(y) for y in parts[name].targets])
    return out


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax, softmax
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("run", type=Path)
    parser.add_argument("--outputs", type=Path, default=None,
                        help="cache of the parts' logits (.npz): read when present, else written")
    args = parser.parse_args(argv)
    if args.outputs and args.outputs.exists():
        d = dict(np.load(args.outputs))
    else:
        d = part_outputs(args.run)
        if args.outputs:
            np.savez(args.outputs, **d)

    def acc(logits: Any, y: Any) -> float:
        return float((logits.argmax(1) == y).mean())

    def nll(logits: Any, y: Any, t: float) -> float:
        return float(-log_softmax(logits / t, 1)[np.arange(len(y)), y].mean())

    vb, vt, vy = d["validation_baseline"], d["validation_transformer"], d["validation_y"]
    tb, tt, ty = d["test_baseline"], d["test_transformer"], d["test_y"]
    temps = {part: minimize_scalar(lambda t, x=x: nll(x, vy, t), bounds=(0.01, 10.0),
                                   method="bounded").x for part, x in (("b", vb), ("t", vt))}
    print(f"validation: baseline {acc(vb, vy):.4f}, transformer {acc(vt, vy):.4f}; test: "
          f"baseline {acc(tb, ty):.4f}, transformer {acc(tt, ty):.4f}; temperatures fitted "
          f"on validation: baseline {temps['b']:.3f}, transformer {temps['t']:.3f}")

    def blend(kind: str, w: float, b: Any, t: Any) -> Any:
        if kind.endswith("-cal"):
            b, t = b / temps["b"], t / temps["t"]
        if kind.startswith("prob"):
            return np.log(w * softmax(t, 1) + (1 - w) * softmax(b, 1) + 1e-12)
        return w * log_softmax(t, 1) + (1 - w) * log_softmax(b, 1)

    grid = [i / 20 for i in range(21)]
    print("| blend | weight chosen on validation | validation acc | test acc there | "
          "test acc at w = 0.0, 0.1, ..., 1.0 (analysis only) |\n|---|---:|---:|---:|---|")
    for kind in ("prob", "prob-cal", "logp", "logp-cal"):
        rows = [(w, acc(blend(kind, w, vb, vt), vy), acc(blend(kind, w, tb, tt), ty)) for w in grid]
        w, val, test = max(rows, key=lambda r: r[1])  # the first of equals: the smaller weight
        curve = " ".join(f"{r[2]:.3f}" for r in rows[::2])
        print(f"| {kind} | {w:.2f} | {val:.4f} | {test:.4f} | {curve} |")

    def stacked(b: Any, t: Any) -> Any:
        return np.hstack([log_softmax(t, 1), log_softmax(b, 1)])

    for c in (0.01, 0.1, 1.0, 10.0):
        lr = LogisticRegression(C=c, max_iter=3000).fit(stacked(vb, vt), vy)
        print(f"stacker C={c:g}: test accuracy {float((lr.predict(stacked(tb, tt)) == ty).mean()):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
