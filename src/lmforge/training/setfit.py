"""SetFit for small data (Tunstall et al. 2022, "Efficient Few-Shot Learning
Without Prompts"), written out in one file.

1. Contrastive pairs: per iteration, each training text is paired with one text
   of its own class (target cosine 1) and one of another class (target 0).
2. The sentence encoder (mean pooling, L2-normalised like all-MiniLM-L6-v2's
   own sentence-transformers pipeline) is tuned for one pass over the pairs with
   a cosine-similarity MSE loss (sentence-transformers' CosineSimilarityLoss).
3. A logistic regression is fitted on the tuned embeddings and copied into a
   linear layer, so the saved model is ``encoder -> mean pool -> normalise ->
   linear`` (``SetFitModel``): a torch module whose ``forward(input_ids,
   attention_mask).logits`` has the shape the rest of lmforge expects, loaded by
   ``lmforge.load`` when ``RUN/model`` holds ``setfit.json``.

Why ``--method auto`` picks SetFit under ``AUTO_BELOW`` examples per class: with
8-16 labelled texts per class a freshly initialised classification head sees
too few gradient steps to learn (the paper's Table 2: standard fine-tuning is far
behind SetFit at 8 per class and the gap closes around 64); pairs give
O(iterations x n) training signals instead of n. bench/setfit_small.py measures
it on Rotten Tomatoes.
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmforge.data.task import Task
from lmforge.errors import ConfigError, DataError, ModelError
from lmforge.inference.setfit import setfit_module

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.config.train import TrainConfig
    from lmforge.training.prepare import Prepared
    from lmforge.training.steps import TrainResult

log = logging.getLogger(__name__)

AUTO_BELOW = 16  # --method auto: setfit when the training split has < 16 examples per class
PAIR_BATCH = 16  # sentence pairs per optimizer step (the paper's batch size)
SETFIT_LR = 2e-5  # the paper's body learning rate
SETFIT_CARD = """
## This is a SetFit model

Trained with `--method setfit`: `model/` holds the tuned sentence encoder (plain
`transformers.AutoModel` loads it) and `setfit_head.safetensors`, a linear layer over the
mean-pooled{norm} embeddings. `AutoModelForSequenceClassification` would put a random head on the
encoder instead: load the whole model with `lmforge.load("{run}")` (predict, evaluate, serve,
explain and export all do).
"""


def choose_method(method: str, task: str, train_targets: list[Any], n_labels: int) -> tuple[str, str]:
    """``(finetune|setfit, reason)`` for ``--method``; auto follows ``AUTO_BELOW``."""
    if method == "setfit":
        if task != Task.SINGLE:
            raise ConfigError(f"method: setfit is for single-label classification; this data's "
                              f"task is {task}. Use --method finetune (or auto).")
        return "setfit", "--method setfit"
    if method == "finetune":
        return "finetune", "--method finetune"
    if task != Task.SINGLE:
        return "finetune", f"auto: setfit is for single-label data; the task is {task}"
    per_class = len(train_targets) / max(1, n_labels)
    if per_class < AUTO_BELOW:
        return "setfit", (f"auto: {per_class:.1f} training examples per class on average, under "
                          f"{AUTO_BELOW}: SetFit (contrastive pairs) learns more from few examples")
    return "finetune", (f"auto: {per_class:.1f} training examples per class on average, at least "
                        f"{AUTO_BELOW}: standard fine-tuning")


def contrastive_pairs(targets: list[Any], iterations: int,
                      rng: random.Random) -> list[tuple[int, int, float]]:
    """``(i, j, similarity)`` pairs: per iteration one positive and one negative per text."""
    by_class: dict[Any, list[int]] = {}
    for i, t in enumerate(targets):
        by_class.setdefault(t, []).append(i)
    if len(by_class) < 2:
        only = next(iter(by_class), None)
        raise DataError(f"setfit: the training split has only one class ('{only}'); contrastive "
                        "pairs need at least two. Add examples of other classes.")
    pairs = []
    for _ in range(iterations):
        for i, t in enumerate(targets):
            same = by_class[t]
            if len(same) > 1:
                j = rng.choice(same)
                while j == i:
                    j = rng.choice(same)
                pairs.append((i, j, 1.0))
            other = rng.choice([c for c in by_class if c != t])
            pairs.append((i, rng.choice(by_class[other]), 0.0))
    rng.shuffle(pairs)
    return pairs


def _normalizes(model_dir: Path) -> bool:
    """Whether the encoder's sentence-transformers pipeline L2-normalises (MiniLM does)."""
    modules = model_dir / "modules.json"
    if not modules.is_file():
        return False
    try:
        entries = json.loads(modules.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    return any(str(e.get("type", "")).endswith("Normalize") for e in entries if isinstance(e, dict))


def build_setfit_model(model_dir: Path, labels: list[str]) -> Any:
    from lmforge.models.registry import offline_env

    offline_env()
    from transformers import AutoModel

    try:
        encoder = AutoModel.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the encoder in '{model_dir}' for SetFit: {exc}") from exc
    encoder.config.id2label = dict(enumerate(labels))
    encoder.config.label2id = {label: i for i, label in enumerate(labels)}
    return setfit_module()(encoder, len(labels), _normalizes(model_dir))


def tune_encoder(model: Any, input_ids: list[list[int]], targets: list[Any], pad_id: int,
                 iterations: int, seed: int, show_progress: bool = False,
                 tracker: Any = None) -> dict[str, Any]:
    """Step 2: one pass of cosine-similarity loss over the contrastive pairs."""
    import torch

    from lmforge.data.tokenize import pad_batch
    from lmforge.progress import Progress
    from lmforge.training.optim import build_optimizer, linear_warmup_decay

    pairs = contrastive_pairs(targets, iterations, random.Random(seed))
    steps = (len(pairs) + PAIR_BATCH - 1) // PAIR_BATCH
    optimizer = build_optimizer(model.encoder, SETFIT_LR, 0.01)
    scheduler = linear_warmup_decay(optimizer, int(0.1 * steps), steps)
    device = next(model.parameters()).device
    model.train()
    running, started = 0.0, time.perf_counter()
    progress = Progress("setfit pairs", total=steps, unit="batch", enabled=show_progress,
                        leave=False)
    for step in range(steps):
        chunk = pairs[step * PAIR_BATCH:(step + 1) * PAIR_BATCH]
        # with few texts a batch of pairs repeats texts: embed each once (same gradient, less work)
        unique = sorted({i for i, _, _ in chunk} | {j for _, j, _ in chunk})
        where = {t: n for n, t in enumerate(unique)}
        batch = pad_batch([input_ids[t] for t in unique], pad_id)
        emb = model.embed(batch["input_ids"].to(device), batch["attention_mask"].to(device))
        u = emb[torch.tensor([where[i] for i, _, _ in chunk], device=device)]
        v = emb[torch.tensor([where[j] for _, j, _ in chunk], device=device)]
        target = torch.tensor([s for _, _, s in chunk], device=device)
        loss = torch.nn.functional.mse_loss(torch.cosine_similarity(u, v), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.encoder.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        running = loss.item() if step == 0 else 0.95 * running + 0.05 * loss.item()
        progress.set(loss=f"{running:.4f}")
        progress.update()
        if tracker is not None:
            tracker.log({"pair_loss": loss.item(), "lr": scheduler.get_last_lr()[0]}, step + 1, 1)
    progress.close()
    model.eval()
    return {"pairs": len(pairs), "positive_pairs": sum(1 for p in pairs if p[2] == 1.0),
            "steps": steps, "pair_loss": running, "seconds": time.perf_counter() - started}


def embed_all(model: Any, input_ids: list[list[int]], pad_id: int, batch_size: int) -> Any:
    import numpy as np
    import torch

    from lmforge.data.tokenize import pad_batch, sorted_batches

    device = next(model.parameters()).device
    out = np.zeros((len(input_ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for idx in sorted_batches([len(r) for r in input_ids], batch_size):
            batch = pad_batch([input_ids[i] for i in idx], pad_id)
            out[idx] = model.embed(batch["input_ids"].to(device),
                                   batch["attention_mask"].to(device)).float().cpu().numpy()
    return out


def fit_head(model: Any, embeddings: Any, targets: list[Any], labels: list[str], seed: int,
             class_weight: str | None) -> None:
    """Step 3: logistic regression on the embeddings, copied into ``model.head``."""
    import torch
    from sklearn.linear_model import LogisticRegression

    index = {label: i for i, label in enumerate(labels)}
    y = [index[t] for t in targets]
    lr = LogisticRegression(max_iter=2000, random_state=seed, class_weight=class_weight)
    lr.fit(embeddings, y)
    weight = torch.zeros(len(labels), embeddings.shape[1])
    bias = torch.zeros(len(labels))
    coef = torch.tensor(lr.coef_, dtype=torch.float32)
    intercept = torch.tensor(lr.intercept_, dtype=torch.float32)
    if len(labels) == 2 and coef.shape[0] == 1:
        # binary LR has one row w: p(1) = sigmoid(w.x + b) = softmax([-z/2, z/2])[1]
        weight[0], weight[1] = -coef[0] / 2, coef[0] / 2
        bias[0], bias[1] = -intercept[0] / 2, intercept[0] / 2
    else:
        classes = list(lr.classes_)
        for row, cls in enumerate(classes):
            weight[cls], bias[cls] = coef[row], intercept[row]
    with torch.no_grad():
        model.head.weight.copy_(weight)
        model.head.bias.copy_(bias)


def run(cfg: TrainConfig, prepared: Prepared) -> TrainResult:
    """The SetFit recipe (``lmforge train --method setfit``): a ``TrainResult`` and its run
    directory, shaped like the fine-tuning recipe's (``training.finetune.run``)."""
    import torch
    from accelerate.utils import set_seed

    from lmforge.config.base import to_mapping
    from lmforge.inference.torch import forward_logits
    from lmforge.rundir import SETFIT, atomic_run_dir, write_text_atomic
    from lmforge.scoring import score_outputs
    from lmforge.training import steps
    from lmforge.training.ensemble import decide_ensemble, write_ensemble_parts
    from lmforge.training.tracking import tracking

    parts, labels, summary, model_dir = (prepared.parts, prepared.labels, prepared.summary,
                                         prepared.model_dir)
    assert model_dir is not None  # SetFit tunes an encoder: --model tfidf has none
    tokenizer, pad_id, encoded = steps.encode_parts(cfg, model_dir, parts, summary)
    weights = steps.class_weights(cfg, Task.SINGLE, parts["train"].targets, labels, summary)
    steps.warn_before_training(summary, parts["train"], labels, Task.SINGLE)
    baseline, baseline_model = steps.fit_baseline(cfg, parts, labels,
                                                  "balanced" if weights else None)

    set_seed(cfg.seed)
    model = build_setfit_model(model_dir, labels).to("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(cfg.out)
    with atomic_run_dir(out, cfg.overwrite) as tmp, \
            tracking(cfg.log_to, tmp, out.name, to_mapping(cfg)) as tracker:
        started = time.perf_counter()
        tuned = tune_encoder(model, encoded["train"].input_ids, parts["train"].targets, pad_id,
                             cfg.setfit_iterations, cfg.seed, cfg.show_progress, tracker)
        embeddings = embed_all(model, encoded["train"].input_ids, pad_id, cfg.eval_batch_size)
        fit_head(model, embeddings, parts["train"].targets, labels, cfg.seed,
                 "balanced" if weights else None)
        seconds = time.perf_counter() - started

        metrics: dict[str, Any] = {}
        split_logits: dict[str, Any] = {}
        for name in ("test", "validation"):
            if len(parts[name]):
                split_logits[name] = forward_logits(model, encoded[name].input_ids, pad_id,
                                                    cfg.eval_batch_size)
                metrics[name] = score_outputs(Task.SINGLE, split_logits[name],
                                              parts[name].targets, labels)
        ensemble = decide_ensemble(cfg.ensemble, Task.SINGLE, labels, parts, split_logits,
                                   baseline_model, baseline)
        ensemble.apply(metrics)
        for name in ("validation", "test"):
            if tracker is not None and name in metrics:
                tracker.log_final(name, metrics[name], tuned["steps"], 1)
        log.info("setfit: %d pairs (%d similar), %d steps, %.1f s; pair loss %.4f",
                 tuned["pairs"], tuned["positive_pairs"], tuned["steps"], seconds, tuned["pair_loss"])

        # each pair is two forward passes: samples are texts embedded, like fine-tuning's
        metrics["train"] = steps.train_metrics(
            method="setfit", seconds=seconds, samples_seen=2 * tuned["pairs"],
            examples=len(parts["train"]), epochs=1, best_epoch=1, stopped_early=False,
            steps=tuned["steps"], history=[],
            details={"setfit": {k: tuned[k] for k in ("pairs", "positive_pairs", "pair_loss")}
                     | {"iterations": cfg.setfit_iterations, "lr": SETFIT_LR,
                        "head": "logistic regression"}})
        metrics["data"] = summary.as_dict()
        steps.add_baseline(metrics, baseline, ensemble, seconds)
        steps.write_run(tmp, cfg, model, tokenizer, metrics, Task.SINGLE, labels, SETFIT,
                        parts["test"], ensemble.test_logits(split_logits.get("test")))
        card = (tmp / "README.md").read_text(encoding="utf-8")
        write_text_atomic(tmp / "README.md", card + SETFIT_CARD.format(
            norm=", L2-normalised" if model.normalize else "", run=cfg.out))
        write_ensemble_parts(tmp, ensemble, str(cfg.out))
    log.info("wrote %s", out)
    return steps.TrainResult(run_dir=out, metrics=metrics, config=cfg)
