"""Window pooling: the mean of window logits (what lmforge does) vs learned attention over the
windows' pooled [CLS] vectors, with the same windows, data, steps and seed.

    .venv/bin/python bench/window_pooling.py {mean|attn} SEED N_TRAIN N_TEST [DATA_DIR]

Fine-tunes the default encoder one epoch on a stratified subset of 20 Newsgroups' train file
(128-token windows, stride 96, at most 4 per document; each batch is 8 documents with all
their windows), tests on a sample of the given test file and prints one RESULT line.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    import numpy as np
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lmforge.data.tokenize import WindowSpec, encode_texts, pad_batch
    from lmforge.models.registry import resolve_model_dir
    from lmforge.training.optim import build_optimizer, linear_warmup_decay

    pool, seed, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    data_dir = Path(sys.argv[5]) if len(sys.argv) > 5 else Path(__file__).parents[2] / "shared" / "data"
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    random.seed(seed)
    train = pd.read_csv(data_dir / "news_20newsgroups_train.csv").dropna()
    test = pd.read_csv(data_dir / "news_20newsgroups_test.csv").dropna()
    train = train.groupby("label").sample(frac=n_train / len(train), random_state=0)
    test = test.sample(n=n_test, random_state=0)
    labels = sorted(train.label.unique())
    label_id = {label: i for i, label in enumerate(labels)}
    model_dir = resolve_model_dir("default")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    spec = WindowSpec(stride=96, max_windows=4)

    def encode(texts):
        encoded = encode_texts(tokenizer, list(texts), 128, windows=spec)
        return encoded.input_ids, encoded.rows_per_text()

    train_ids, train_rows = encode(train.text)
    test_ids, test_rows = encode(test.text)
    y_train = torch.tensor([label_id[label] for label in train.label])
    y_test = np.array([label_id[label] for label in test.label])
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=len(labels))
    hidden = model.config.hidden_size
    attention = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                                    torch.nn.Linear(hidden, 1))

    def doc_logits(docs, ids, rows):
        flat = [r for d in docs for r in rows[d]]
        owner = torch.tensor([k for k, d in enumerate(docs) for _ in rows[d]])
        batch = pad_batch([ids[r] for r in flat], tokenizer.pad_token_id)
        h = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).pooler_output
        h = model.dropout(h)
        if pool == "mean":  # lmforge: the document's logits are the mean of its windows'
            window_logits = model.classifier(h)
            summed = torch.zeros(len(docs), window_logits.shape[1]).index_add_(0, owner, window_logits)
            return summed / torch.bincount(owner, minlength=len(docs)).unsqueeze(1)
        scores = attention(h).squeeze(1)
        weights = torch.exp(scores - scores.max())
        weights = weights / torch.zeros(len(docs)).index_add_(0, owner, weights)[owner]
        doc = torch.zeros(len(docs), hidden).index_add_(0, owner, weights.unsqueeze(1) * h)
        return model.classifier(doc)

    params = torch.nn.ModuleList([model, attention]) if pool == "attn" else model
    batch_size = 8
    steps = (len(train) + batch_size - 1) // batch_size
    optimizer = build_optimizer(params, 2e-4, 0.01)
    schedule = linear_warmup_decay(optimizer, int(0.06 * steps), steps)
    started = time.time()
    params.train()
    order = list(range(len(train)))
    random.shuffle(order)
    for i in range(0, len(order), batch_size):
        docs = order[i:i + batch_size]
        loss = torch.nn.functional.cross_entropy(doc_logits(docs, train_ids, train_rows), y_train[docs])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    train_seconds = time.time() - started
    params.eval()
    predictions = []
    with torch.inference_mode():
        for i in range(0, len(test), 16):
            docs = list(range(i, min(i + 16, len(test))))
            predictions.append(doc_logits(docs, test_ids, test_rows).argmax(1).numpy())
    accuracy = float((np.concatenate(predictions) == y_test).mean())
    print("RESULT", json.dumps({"pool": pool, "seed": seed, "n_train": len(train), "n_test": len(test),
                                "windows_per_doc": round(len(train_ids) / len(train), 3),
                                "test_acc": round(accuracy, 4), "train_s": round(train_seconds)}))


if __name__ == "__main__":
    main()
