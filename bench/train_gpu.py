"""Training throughput on a GPU (or CPU at tiny sizes): lmforge's loop vs the HF Trainer.

    .venv/bin/python bench/train_gpu.py [--model default|bert-base|tiny] [--seq-len 128]
        [--batch-size 32] [--samples 3200] [--compile] [--peak-tflops N]

Both train the same model from the same weights on the same texts (Rotten Tomatoes
reviews joined into texts of at least --seq-len tokens, so every sample is exactly
--seq-len tokens and tokens/s = samples/s x seq-len), batch and sequence length:

- lmforge: ``lmforge.training.loop.fit`` as ``lmforge train`` runs it (bf16 autocast on a
  GPU, fused AdamW, SDPA attention, pinned-memory non-blocking transfers, no host
  synchronisation in the inner loop); --compile wraps the model in ``torch.compile``;
- HF Trainer: bf16, ``adamw_torch_fused``, pinned memory, SDPA, ``torch_compile`` with
  --compile.

Prints samples/s, tokens/s, model FLOPs utilisation (MFU: 6 x non-embedding parameters
+ 12 x layers x hidden x seq-len FLOPs per trained token, over the GPU's bf16 dense
peak: known GPUs by name, else --peak-tflops; none on CPU) and the ratio lmforge /
Trainer, with the 1-minute load average before and after. ``--model bert-base`` is a
random-init BERT-base-size config (12 x 768, 12 heads, 3072) with the default
tokenizer; ``tiny`` (2 x 32) keeps the script working in CI on a CPU.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DATA = Path(__file__).resolve().parents[1] / "src" / "lmforge" / "recipes" / "data"

# bf16 dense peak of GPUs by name fragment, TFLOP/s (vendor datasheets, no sparsity)
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
                    "A10": 125.0, "4090": 165.0, "3090": 71.0, "V100": 125.0, "T4": 65.0}
SHAPES = {"bert-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                        "intermediate_size": 3072},
          "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                   "intermediate_size": 64}}


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def long_texts(tokenizer: Any, n: int, seq_len: int) -> tuple[list[str], list[int]]:
    """``n`` texts of at least ``seq_len`` tokens (reviews joined), labels alternating."""
    with open(DATA / "rotten_tomatoes_train.csv", encoding="utf-8", newline="") as f:
        reviews = [r["text"] for r in csv.DictReader(f)]
    texts: list[str] = []
    i = 0
    while len(texts) < n:
        parts: list[str] = []
        while len(tokenizer(" ".join(parts))["input_ids"]) < seq_len + 2:
            parts.append(reviews[i % len(reviews)])
            i += 1
        texts.append(" ".join(parts))
    return texts, [k % 2 for k in range(n)]


def build_model(name: str, tokenizer: Any) -> Any:
    """The model to train: the default encoder's weights, or a random-init config."""
    import torch
    from transformers import AutoModelForSequenceClassification, BertConfig

    from lmforge.models.registry import resolve_model_dir

    torch.manual_seed(0)
    if name == "default":
        return AutoModelForSequenceClassification.from_pretrained(
            str(resolve_model_dir("default")), num_labels=2, attn_implementation="sdpa")
    config = BertConfig(vocab_size=tokenizer.vocab_size, num_labels=2,
                        max_position_embeddings=512, **SHAPES[name])
    return AutoModelForSequenceClassification.from_config(config, attn_implementation="sdpa")


def flops_per_token(model: Any, seq_len: int) -> float:
    """Training FLOPs per token: 6 N (N: non-embedding parameters) + 12 L H S (attention),
    as in the PaLM paper's MFU."""
    config = model.config
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    n = sum(p.numel() for p in model.parameters()) - embedding
    return 6 * n + 12 * config.num_hidden_layers * config.hidden_size * seq_len


def peak_flops(args: argparse.Namespace) -> float | None:
    import torch

    if args.peak_tflops:
        return args.peak_tflops * 1e12
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    for fragment, tflops in PEAK_BF16_TFLOPS.items():
        if fragment in name:
            return tflops * 1e12
    return None


def run_lmforge(args: argparse.Namespace, tokenizer: Any, texts: list[str],
                labels: list[int]) -> float:
    """Samples/s of ``fit`` (the loop ``lmforge train`` runs), one epoch over the texts."""
    import torch

    from lmforge.data.tokenize import encode_texts
    from lmforge.training.loop import LoopSettings, fit

    ids = encode_texts(tokenizer, texts, args.seq_len, "head").input_ids
    model = build_model(args.model, tokenizer)
    if args.compile:
        model = torch.compile(model)
    settings = LoopSettings(epochs=1, lr=args.lr, batch_size=args.batch_size,
                            eval_batch_size=args.batch_size, weight_decay=0.01,
                            warmup_ratio=0.06, max_grad_norm=1.0, grad_accum=1,
                            early_stopping_patience=0, seed=0, show_progress=False)
    result = fit(model, ids, torch.tensor(labels), torch.nn.CrossEntropyLoss(), settings,
                 tokenizer.pad_token_id or 0)
    return result.samples_seen / result.seconds


def run_hf_trainer(args: argparse.Namespace, tokenizer: Any, texts: list[str],
                   labels: list[int], out: Path) -> float:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    enc = tokenizer(texts, truncation=True, max_length=args.seq_len)

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(labels)

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            return {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                    "labels": labels[i]}

    cuda = torch.cuda.is_available()
    steps = math.ceil(len(labels) / args.batch_size)
    targs = TrainingArguments(
        output_dir=str(out), num_train_epochs=1, learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size, weight_decay=0.01,
        warmup_steps=int(0.06 * steps), lr_scheduler_type="linear", seed=0,
        save_strategy="no", report_to=[], logging_strategy="no", disable_tqdm=True,
        use_cpu=not cuda, bf16=cuda, optim="adamw_torch_fused", dataloader_pin_memory=cuda,
        torch_compile=args.compile, max_grad_norm=1.0,
    )
    trainer = Trainer(model=build_model(args.model, tokenizer), args=targs, train_dataset=Rows(),
                      data_collator=DataCollatorWithPadding(tokenizer))
    start = time.perf_counter()
    trainer.train()
    if cuda:
        torch.cuda.synchronize()
    return len(labels) / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["default", "bert-base", "tiny"], default="bert-base")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--samples", type=int, default=3200, help="training samples (one epoch)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--compile", action="store_true", help="torch.compile both contenders")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="peak bf16 TFLOP/s of the device for MFU (default: by GPU name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    before = load_average()

    import torch

    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import resolve_model_dir

    tokenizer = load_tokenizer(resolve_model_dir("default"))
    texts, labels = long_texts(tokenizer, args.samples, args.seq_len)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else (
        f"cpu ({torch.get_num_threads()} threads)")
    per_token = flops_per_token(build_model(args.model, tokenizer), args.seq_len)
    peak = peak_flops(args)
    print(f"device: {device}; model {args.model}; {args.samples} samples of {args.seq_len} "
          f"tokens, batch {args.batch_size}; compile {args.compile}; "
          f"{per_token / 1e6:.1f} MFLOP per token; load average (1 min) before: {before}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = {"HF Trainer": run_hf_trainer(args, tokenizer, texts, labels, Path(tmp)),
                   "lmforge": run_lmforge(args, tokenizer, texts, labels)}
    print("| contender | samples/s | tokens/s | MFU |\n|---|---:|---:|---:|")
    for name, sps in results.items():
        tps = sps * args.seq_len
        mfu = f"{100 * tps * per_token / peak:.1f}%" if peak else "n/a (no peak known)"
        print(f"| {name} | {sps:.4g} | {tps:.0f} | {mfu} |")
    ratio = results["lmforge"] / results["HF Trainer"]
    print(f"ratio lmforge / HF Trainer: {ratio:.2f}x (target on a GPU: >= 1.5x, MFU >= 40% for "
          f"bert-base at seq-len 128)")
    print(f"load average (1 min) before: {before}, after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
