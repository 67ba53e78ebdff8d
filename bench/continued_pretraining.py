"""Does continued masked-LM pre-training on the task's own text help the Chinese recipe?

    .venv/bin/python bench/continued_pretraining.py [--data-dir ../shared/data] [--work DIR]
        [--epochs 1] [--lr 1e-4] [--max-steps N] [--train-samples N] [--threads 2] [--plain]

Task-adaptive pre-training (Gururangan et al., 2020, "Don't Stop Pretraining"): before
fine-tuning, continue the encoder's masked-LM training on the unlabelled text of the task.
Here: multilingual-e5-small (the default for Chinese) on the texts of the ``sentiment-zh``
recipe's own training split (the Chinese reviews, lmforge's 20% stratified test split with
seed 0 held out, the validation split too), then the ``sentiment-zh`` recipe as it is with
``--model RUN/model``. No validation or test text reaches the pre-training.

``lmforge pretrain mlm --model multilingual-e5-small`` keeps its 250k-piece word embeddings
fixed and predicts over the pieces found in the corpus (``--freeze-embeddings auto``,
``--output-vocabulary auto``). e5 was trained as a sentence encoder and ships no masked-LM
head, so the head's transform starts from random weights.

``--plain`` also runs the recipe on plain e5 in the same process, for a comparison under the
same load (another ~24 minutes); without it, compare with the recipe's README row.
``--train-samples`` (a stratified subset for both steps) is for a quick check.
Prints a markdown table and writes it with a JSON copy under --work.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from recipes import DEFAULT_DATA, TARGETS, run_recipe  # noqa: E402

RECIPE = "sentiment-zh"
DATA_FILE = "sentiment_zh_reviews.csv"


def training_split_corpus(data: Path, out: Path, train_samples: int) -> int:
    """The recipe's training split (as ``lmforge train`` cuts it), one text per line."""
    from lmforge.config.train import TrainConfig
    from lmforge.recipes import load_recipe
    from lmforge.training.prepare import prepare

    values = load_recipe(RECIPE)
    values.update(data=str(data), out=str(out.parent / "unused"))
    if train_samples:
        values["max_train_samples"] = train_samples
    parts = prepare(TrainConfig(**values)).parts
    texts = [" ".join(t.split()) for t in parts["train"].texts]
    out.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return len(texts)


def transformer_alone(run: Path) -> float | None:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    part = (metrics.get("ensemble") or {}).get("test", {}).get("transformer")
    return part["accuracy"] if part else metrics["test"]["accuracy"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-samples", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plain", action="store_true", help="also run the recipe on plain e5")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    work = args.work or Path(tempfile.mkdtemp(prefix="lmforge-tapt-"))
    work.mkdir(parents=True, exist_ok=True)
    data = args.data_dir / DATA_FILE
    sys.stderr.write(f"load average at start: {os.getloadavg()}, threads {args.threads}\n")

    from lmforge.pretrain.run import pretrain

    corpus = work / "train_split.txt"
    n = training_split_corpus(data, corpus, args.train_samples)
    started = time.perf_counter()
    tapt = pretrain(objective="mlm", corpus=[str(corpus)], model="multilingual-e5-small",
                    out=str(work / "tapt"), overwrite=True, epochs=args.epochs,
                    max_steps=args.max_steps, lr=args.lr, batch_size=args.batch_size,
                    max_length=128, num_threads=args.threads, show_progress=False)
    pretrain_seconds = time.perf_counter() - started
    m = tapt.metrics
    sys.stderr.write(f"pre-training: {pretrain_seconds:.0f} s, held-out perplexity "
                     f"{m['initial_heldout'].get('perplexity')} -> {m['heldout'].get('perplexity')}\n")

    extra: dict[str, Any] = {"data": str(data)}
    if args.train_samples:
        extra["max_train_samples"] = args.train_samples
    rows = []
    runs = [("plain e5", None)] if args.plain else []
    runs.append(("e5 + continued MLM", str(work / "tapt" / "model")))
    for label, model in runs:
        out = work / ("plain" if model is None else "finetune")
        row = run_recipe(RECIPE, out, args.threads, **extra, **({"model": model} if model else {}))
        row["encoder"] = label
        row["transformer_alone"] = transformer_alone(out)
        row["pretrain_seconds"] = round(pretrain_seconds, 1) if model else 0.0
        rows.append(row)
    summary = {"corpus_texts": n, "pretrain": {
        "seconds": round(pretrain_seconds, 1), "steps": m["train"]["steps"],
        "epochs": m["train"]["epochs"], "lr": args.lr, "tokens_per_second":
        m["train"]["tokens_per_second"], "heldout_perplexity_before":
        m["initial_heldout"].get("perplexity"), "heldout_perplexity_after":
        m["heldout"].get("perplexity"), "output_vocabulary": m.get("output_vocabulary"),
        "frozen_embedding_weights": m.get("frozen_embedding_weights")}, "rows": rows,
        "load_average_end": os.getloadavg()}
    (work / "tapt.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    least, most = TARGETS[RECIPE]
    lines = [f"pre-training: {m['train']['steps']} steps ({m['train']['epochs']:.2f} epochs of "
             f"{n} training-split texts), lr {args.lr:g}, {pretrain_seconds / 60:.1f} min; "
             f"held-out masked-LM perplexity {m['initial_heldout'].get('perplexity', float('nan')):.1f}"
             f" -> {m['heldout'].get('perplexity', float('nan')):.1f} (over "
             f"{(m.get('output_vocabulary') or {}).get('pieces')} pieces)", "",
             "| encoder | accuracy (final) | transformer alone | TF-IDF | ensemble | fine-tune min "
             "| pre-train min | total min | target |", "|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        total = (r["seconds"] + r["pretrain_seconds"]) / 60
        ens = r["ensemble"]
        blend = f"{ens.get('choice')}" + (f" w={ens['weight']:.2f}" if ens.get("choice") == "blend" else "")
        met = r["accuracy"] >= least and total <= most and r["accuracy"] >= r["baseline_accuracy"]
        lines.append(f"| {r['encoder']} | {r['accuracy']:.3f} | {r['transformer_alone']:.3f} | "
                     f"{r['baseline_accuracy']:.3f} | {blend} | {r['seconds'] / 60:.1f} | "
                     f"{r['pretrain_seconds'] / 60:.1f} | {total:.1f} | "
                     f"{'yes' if met else 'NO'} (>= {least}, <= {most:.0f} min) |")
    table = "\n".join(lines)
    (work / "tapt.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"load average at the end (1, 5, 15 min): {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
