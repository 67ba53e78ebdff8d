"""The classification head's input: the first token's state through BERT's pooler (what
lmforge's fine-tuning reads, ``AutoModelForSequenceClassification``) vs the mean of the last
hidden states (how all-MiniLM-L6-v2, multilingual-e5-small and m3e-small were trained as
sentence encoders), with the same data, order, steps and seed.

    .venv/bin/python bench/head_pooling.py {cls|mean} MODEL N_TRAIN N_TEST [DATA_DIR] [--threads N]

Fine-tunes MODEL (a registry name: multilingual-e5-small, m3e-small, default) one epoch on
N_TRAIN Chinese reviews (``sentiment_zh_reviews.csv``, shuffled with seed 0; the first N_TEST
are the test texts) at lr 5e-5, batch 32, 128 tokens, word embeddings frozen (and, for
multilingual-e5-small, the bottom 4 of 12 layers, as the sentiment-zh recipe does), and prints
one RESULT line.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
LABELS = {"neg": 0, "pos": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pool", choices=["cls", "mean"])
    parser.add_argument("model")
    parser.add_argument("n_train", type=int)
    parser.add_argument("n_test", type=int)
    parser.add_argument("data_dir", nargs="?",
                        default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification

    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import resolve_model_dir
    from lmforge.training.optim import linear_warmup_decay

    torch.set_num_threads(args.threads)
    path = Path(args.data_dir) / "sentiment_zh_reviews.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    random.Random(0).shuffle(rows)
    test, train = rows[:args.n_test], rows[args.n_test:args.n_test + args.n_train]
    model_dir = resolve_model_dir(args.model)
    tok = load_tokenizer(model_dir)
    torch.manual_seed(0)
    if args.pool == "cls":
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2)
        encoder = model.base_model
    else:
        encoder = AutoModel.from_pretrained(str(model_dir))
        head = torch.nn.Sequential(torch.nn.Dropout(0.1),
                                   torch.nn.Linear(encoder.config.hidden_size, 2))
        model = torch.nn.ModuleDict({"encoder": encoder, "head": head})
    frozen_layers = 4 if args.model == "multilingual-e5-small" else 0
    for module in (encoder.embeddings, *encoder.encoder.layer[:frozen_layers]):
        for param in module.parameters():
            param.requires_grad_(False)

    def logits(batch: dict) -> torch.Tensor:
        if args.pool == "cls":
            return model(**batch).logits
        hidden = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return model["head"]((hidden * mask).sum(1) / mask.sum(1))

    def encode(part: list[dict]) -> dict:
        return dict(tok([r["text"] for r in part], truncation=True, max_length=128,
                        padding=True, return_tensors="pt"))

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-5, weight_decay=0.01)
    steps = (len(train) + 31) // 32
    scheduler = linear_warmup_decay(optimizer, int(0.06 * steps), steps)
    model.train()
    start = time.perf_counter()
    for i in range(0, len(train), 32):
        part = train[i:i + 32]
        target = torch.tensor([LABELS[r["label"]] for r in part])
        torch.nn.functional.cross_entropy(logits(encode(part)), target).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(test), 64):
            part = test[i:i + 64]
            pred = logits(encode(part)).argmax(-1).tolist()
            correct += sum(p == LABELS[r["label"]] for p, r in zip(pred, part, strict=True))
    print(f"RESULT pool={args.pool} model={args.model} train={len(train)} test={len(test)} "
          f"accuracy={correct / len(test):.4f} train_seconds={seconds:.0f}", flush=True)


if __name__ == "__main__":
    main()
