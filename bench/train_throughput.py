"""lmforge vs Hugging Face Trainer: same model, data and hyper-parameters, one run.

    .venv/bin/python bench/train_throughput.py [--train-samples 2000] [--epochs 1] [--rounds 3]

Both fine-tune the default all-MiniLM-L6-v2 encoder on the bundled Rotten
Tomatoes train split (stratified subset of --train-samples) and score the
bundled test split. The Trainer gets its standard dynamic-padding collator
(`DataCollatorWithPadding`), AdamW, linear schedule, same lr/batch/max length.
--rounds rounds, each the Trainer then lmforge: prints each round's samples/s, ratio
and accuracies, and the 1-minute load average before and after each round.

    .venv/bin/python bench/train_throughput.py --profile-steps 20

instead times lmforge's steps one by one (data: length grouping, padding, targets;
forward; backward; optimizer step + schedule) on the same data and prints where one
epoch's time goes. With ``--compile`` it then times the same steps on a fresh model under
``torch.compile(dynamic=True)`` (inductor; batch lengths vary), the first, compiling step
apart, and prints the ratio.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"
STEP_PARTS = ("data", "forward", "backward", "optimizer")  # what --profile-steps times apart


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


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def profile_steps(args: argparse.Namespace) -> None:
    """Where one lmforge step's time goes: the loop's own components, timed apart; with
    --compile, the same steps again under ``torch.compile`` (same batches, fresh model)."""
    import torch

    from lmforge.data import load_examples
    from lmforge.data.split import stratified_subset
    from lmforge.data.tokenize import encode_texts, length_grouped_batches
    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import resolve_model_dir

    train = load_examples(DATA / "rotten_tomatoes_train.csv").examples
    train = stratified_subset(train, args.train_samples, 0)
    model_dir = resolve_model_dir("default")
    tok = load_tokenizer(model_dir)
    ids = encode_texts(tok, list(train.texts), args.max_length).input_ids
    labels = sorted(set(train.targets))
    y = torch.tensor([labels.index(t) for t in train.targets])
    batches = list(length_grouped_batches([len(r) for r in ids], args.batch_size, 0))
    timed = batches[: args.profile_steps]
    # pad_batch pads each batch to its longest row
    real = sum(len(ids[i]) for idx in timed for i in idx)
    cells = sum(len(idx) * max(len(ids[i]) for i in idx) for idx in timed)
    print(f"{len(timed)} steps of batch {args.batch_size}, {torch.get_num_threads()} threads; "
          f"padding {100 * (cells - real) / max(1, real):.0f}% of the real tokens")
    pad_id = tok.pad_token_id or 0
    eager = time_steps(args, model_dir, len(labels), batches, ids, pad_id, y, compiled=False)
    if args.compile:
        compiled = time_steps(args, model_dir, len(labels), batches, ids, pad_id, y,
                              compiled=True)
        print(f"torch.compile: {compiled:.0f} ms a step against eager {eager:.0f} "
              f"({eager / compiled:.2f}x)")


def time_steps(args: argparse.Namespace, model_dir: Path, n_labels: int, batches: list[Any],
               ids: list[Any], pad_id: int, y: Any, compiled: bool) -> float:
    """Time ``args.profile_steps`` training steps part by part; print them; return ms a step."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from lmforge.data.tokenize import pad_batch
    from lmforge.training.optim import build_optimizer, linear_warmup_decay

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir),
                                                               num_labels=n_labels)
    model.train()
    optimizer = build_optimizer(model, args.lr, 0.01)
    scheduler = linear_warmup_decay(optimizer, 0, args.profile_steps + 1)
    loss_fn = torch.nn.CrossEntropyLoss()
    forward = torch.compile(model, dynamic=True) if compiled else model

    def step(idx: Any, times: dict[str, float]) -> None:
        t0 = time.perf_counter()
        batch = pad_batch([ids[i] for i in idx], pad_id)
        target = y[idx]
        t1 = time.perf_counter()
        loss = loss_fn(forward(**batch).logits, target)
        t2 = time.perf_counter()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        t3 = time.perf_counter()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        t4 = time.perf_counter()
        for key, spent in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            times[key] += spent

    if compiled:  # the compiling happens in the first forward and backward: timed apart
        warm = dict.fromkeys(STEP_PARTS, 0.0)
        step(batches[-1], warm)
        print(f"compiled: first step (compiling) {sum(warm.values()):.1f} s")
    times = dict.fromkeys(STEP_PARTS, 0.0)
    steps = min(args.profile_steps, len(batches))
    for idx in batches[:steps]:
        step(idx, times)
    total = sum(times.values())
    print(f"{'compiled' if compiled else 'eager'}: {total / steps * 1000:.0f} ms a step "
          f"(fused AdamW {optimizer.defaults.get('fused')})")
    for key, spent in times.items():
        print(f"  {key:<10}{spent / steps * 1000:8.1f} ms{100 * spent / total:6.1f}%")
    return total / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="Trainer-then-lmforge rounds")
    parser.add_argument("--profile-steps", type=int, default=0,
                        help="time lmforge's step parts for this many steps instead")
    parser.add_argument("--compile", action="store_true",
                        help="with --profile-steps: the same steps again under torch.compile")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import torch

    if args.profile_steps:
        print(f"load average (1 min) before: {load_average()}")
        profile_steps(args)
        print(f"load average (1 min) after: {load_average()}")
        return
    device = "cuda (bf16)" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {device}; {args.train_samples} training examples, {args.epochs} epoch(s), "
          f"lr {args.lr}, batch {args.batch_size}, max length {args.max_length}; "
          f"{os.cpu_count()} cores", flush=True)
    ratios = []
    for round_ in range(1, args.rounds + 1):
        before = load_average()
        with tempfile.TemporaryDirectory() as tmp:
            hf_sps, hf_acc = run_hf_trainer(args, Path(tmp) / "hf")
            lf_sps, lf_acc = run_lmforge(args, Path(tmp) / "lmforge")
        ratios.append(lf_sps / hf_sps)
        print(f"round {round_}: HF Trainer {hf_sps:.1f} samples/s (accuracy {hf_acc:.4f}), "
              f"lmforge {lf_sps:.1f} samples/s (accuracy {lf_acc:.4f}): "
              f"{lf_sps / hf_sps:.2f}x; load average (1 min) before {before}, after "
              f"{load_average()}", flush=True)
    print(f"ratios lmforge / HF Trainer: {' / '.join(f'{r:.2f}x' for r in ratios)}; target >= 2x "
          f"in each: {'PASS' if min(ratios) >= 2 else 'FAIL'}")


if __name__ == "__main__":
    main()
