"""lmforge vs Hugging Face Trainer: same model, data and hyper-parameters, one run.

    .venv/bin/python bench/train_throughput.py [--train-samples 2000] [--epochs 1]

Both fine-tune the default all-MiniLM-L6-v2 encoder on the bundled Rotten
Tomatoes train split (stratified subset of --train-samples) and score the
bundled test split. The Trainer gets its standard dynamic-padding collator
(`DataCollatorWithPadding`), AdamW, linear schedule, same lr/batch/max length.
Prints samples/s of each, the ratio, and the accuracy of each.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"


def run_lmforge(args: argparse.Namespace, out: Path) -> tuple[float, float]:
    import lmforge

    result = lmforge.train(
        data=str(DATA / "rotten_tomatoes_train.csv"), test=str(DATA / "rotten_tomatoes_test.csv"),
        out=str(out), epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        max_length=args.max_length, seed=0, validation_fraction=0.0,
        max_train_samples=args.train_samples, show_progress=False,
    )
    return result.metrics["train"]["samples_per_second"], result.metrics["test"]["accuracy"]


def run_hf_trainer(args: argparse.Namespace, out: Path) -> tuple[float, float]:
    import numpy as np
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from lmforge.data import load_examples
    from lmforge.data.split import stratified_subset
    from lmforge.models.registry import resolve_model_dir

    train = load_examples(DATA / "rotten_tomatoes_train.csv").examples
    train = stratified_subset(train, args.train_samples, 0) if args.train_samples else train
    test = load_examples(DATA / "rotten_tomatoes_test.csv").examples
    labels = sorted(set(train.targets))
    index = {label: i for i, label in enumerate(labels)}
    model_dir = str(resolve_model_dir("default"))
    tok = AutoTokenizer.from_pretrained(model_dir)

    class Rows(torch.utils.data.Dataset):
        def __init__(self, ex):  # type: ignore[no-untyped-def]
            self.enc = tok(ex.texts, truncation=True, max_length=args.max_length)
            self.y = [index[t] for t in ex.targets]

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            return {"input_ids": self.enc["input_ids"][i],
                    "attention_mask": self.enc["attention_mask"][i], "labels": self.y[i]}

    import math

    total_steps = math.ceil(len(train) / args.batch_size) * args.epochs
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(labels))
    targs = TrainingArguments(
        output_dir=str(out), num_train_epochs=args.epochs, learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=64,
        weight_decay=0.01, warmup_steps=int(0.06 * total_steps), lr_scheduler_type="linear", seed=0,
        save_strategy="no", report_to=[], logging_strategy="no", disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(), bf16=torch.cuda.is_available(),
    )
    trainer = Trainer(model=model, args=targs, train_dataset=Rows(train),
                      data_collator=DataCollatorWithPadding(tok))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    pred = trainer.predict(Rows(test))
    accuracy = float((np.argmax(pred.predictions, axis=1) == pred.label_ids).mean())
    return len(train) * args.epochs / seconds, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    device = "cuda (bf16)" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    with tempfile.TemporaryDirectory() as tmp:
        hf_sps, hf_acc = run_hf_trainer(args, Path(tmp) / "hf")
        lf_sps, lf_acc = run_lmforge(args, Path(tmp) / "lmforge")
    print(f"device: {device}; {args.train_samples} training examples, {args.epochs} epoch(s), "
          f"lr {args.lr}, batch {args.batch_size}, max length {args.max_length}")
    print(f"{'':<22}{'samples/s':>12}{'test accuracy':>16}")
    print(f"{'HF Trainer':<22}{hf_sps:>12.1f}{hf_acc:>16.4f}")
    print(f"{'lmforge':<22}{lf_sps:>12.1f}{lf_acc:>16.4f}")
    print(f"speed ratio lmforge / HF Trainer: {lf_sps / hf_sps:.2f}x")


if __name__ == "__main__":
    main()
