"""Pre-training reports: the loss curve PNG and a short report.md."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def save_loss_curve_png(history: Sequence[dict[str, Any]], path: str | os.PathLike[str],
                        title: str) -> Path:
    """Training loss (mean per logging window) and held-out loss against the step."""
    # a bare Figure renders with Agg and never touches pyplot's global backend
    from matplotlib.figure import Figure

    train = [(h["step"], h["train_loss"]) for h in history if "train_loss" in h]
    heldout = [(h["step"], h["heldout_loss"]) for h in history if "heldout_loss" in h]
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    if train:
        ax.plot(*zip(*train, strict=True), "-", label="train loss", linewidth=1.2)
    if heldout:
        ax.plot(*zip(*heldout, strict=True), "o--", label="held-out loss", markersize=4)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats per predicted token)")
    ax.grid(alpha=0.3)
    if train or heldout:
        ax.legend(frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def format_pretrain_report(metrics: dict[str, Any]) -> str:
    """Markdown summary of metrics.json (also what the CLI prints)."""
    held, first = metrics.get("heldout", {}), metrics.get("initial_heldout", {})
    train, corpus = metrics["train"], metrics["corpus"]
    lines = [f"# Pre-training ({metrics['objective']})", ""]
    lines.append(f"- model: {metrics['model']}")
    lines.append(f"- corpus: {corpus['train_lines']:,} lines for training, "
                 f"{corpus['heldout_lines']:,} held out ({corpus['train_sequences']:,} sequences)")
    lines.append(f"- trained {train['steps']:,} steps ({train['epochs']:.2f} epochs), "
                 f"{train['tokens']:,} tokens in {train['seconds']:.0f} s: "
                 f"{train['tokens_per_second']:,.0f} tokens/s")
    if held:
        lines.append(f"- held-out loss {held['loss']:.4f}, perplexity {held['perplexity']:.2f} "
                     f"(before training: perplexity {first.get('perplexity', float('nan')):.2f})")
        if "nsp_accuracy" in held:
            lines.append(f"- next-sentence accuracy on held-out pairs {held['nsp_accuracy']:.4f}")
        if metrics["objective"] == "mlm":
            lines.append("- masked-LM perplexity is exp(mean loss on the masked positions), with "
                         "the same masks at every evaluation")
            out = metrics.get("output_vocabulary")
            if out and out["pieces"] < out["of"]:
                lines.append(f"- predicted over the {out['pieces']:,} pieces found in the corpus, "
                             f"of {out['of']:,} (--output-vocabulary {out['setting']}): the "
                             "perplexity is over those pieces")
    else:
        lines.append("- no held-out text (corpus too small or --heldout-fraction 0)")
    unk = metrics.get("tokenizer", {}).get("heldout_unknown_share")
    if unk is not None:
        lines.append(f"- unknown tokens on the held-out text: {unk:.2%}")
    return "\n".join(lines) + "\n"
