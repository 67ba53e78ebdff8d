"""The training loop, top to bottom in one function.

On ``accelerate`` so the same loop runs on CPU, one GPU (bf16 autocast) or
several processes later without change.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.data.tokenize import length_grouped_batches, pad_batch
from lmforge.inference.torch import forward_logits
from lmforge.training.optim import build_optimizer, linear_warmup_decay

log = logging.getLogger(__name__)

BAR_EVERY = 10  # steps between progress-bar updates (each reads the loss back from the device)


@dataclass
class LoopSettings:
    epochs: int
    lr: float
    batch_size: int
    eval_batch_size: int
    weight_decay: float
    warmup_ratio: float
    max_grad_norm: float
    grad_accum: int
    early_stopping_patience: int
    seed: int
    show_progress: bool = True
    train_windows: int | None = None  # windows: rows per text drawn each epoch (None: all)
    tracker: Any = None  # lmforge.training.tracking.Tracker: per-step loss/lr, per-epoch metrics


@dataclass
class FitResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float | None = None
    epochs_run: int = 0
    steps: int = 0
    samples_seen: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    step_losses: list[float] = field(default_factory=list)
    """The training loss of every optimizer step (mean over its accumulated batches)."""


def fit(
    model: Any,
    train_ids: Sequence[list[int]],
    train_targets: Any,
    loss_fn: Callable[[Any, Any], Any],
    settings: LoopSettings,
    pad_id: int,
    validate: Callable[[Any], tuple[float, dict[str, Any]]] | None = None,
    checkpoint_dir: Path | None = None,
    rows_per_text: Sequence[list[int]] | None = None,
) -> FitResult:
    """Train ``model`` in place; returns history. Restores the best epoch's weights.

    ``validate(model) -> (score, metrics)`` is called after each epoch; higher
    score is better. Without it every epoch runs and the last weights are kept.

    With ``rows_per_text`` (long texts read as windows: ``Encoded.rows_per_text()``)
    an example is a text whose rows of ``train_ids`` are its windows: the text's
    logits are the mean of its windows' logits, the loss is taken on those, and
    ``settings.train_windows`` caps the windows drawn per text each epoch.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    set_seed(settings.seed)
    accelerator = Accelerator(
        mixed_precision="bf16" if torch.cuda.is_available() else "no",
        gradient_accumulation_steps=settings.grad_accum,
    )
    optimizer = build_optimizer(model, settings.lr, settings.weight_decay)
    n_examples = len(rows_per_text) if rows_per_text is not None else len(train_ids)
    batches_per_epoch = math.ceil(n_examples / settings.batch_size)
    steps_per_epoch = math.ceil(batches_per_epoch / settings.grad_accum)
    total_steps = steps_per_epoch * settings.epochs
    scheduler = linear_warmup_decay(optimizer, int(settings.warmup_ratio * total_steps), total_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if rows_per_text is None:
        rows_per_text = [[i] for i in range(len(train_ids))]
    cap = settings.train_windows or max(len(r) for r in rows_per_text)
    lengths = [sum(len(train_ids[r]) for r in rows[:cap]) for rows in rows_per_text]
    draw = random.Random(settings.seed)

    result = FitResult()
    best_state: dict[str, Any] | None = None
    epochs_without_gain = 0
    start = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        model.train()
        batches = list(length_grouped_batches(lengths, settings.batch_size, settings.seed + epoch))
        bar = tqdm(
            batches, desc=f"epoch {epoch}/{settings.epochs}", unit="batch",
            disable=not settings.show_progress, leave=False, dynamic_ncols=True,
        )
        seen_in_epoch = 0
        running_t: Any = None
        # per-step and epoch losses stay on the device and are read back once per epoch:
        # ``.item()`` at every step would make the loop wait for the accelerator
        step_sum_t: Any = None
        step_batches = 0
        step_means: list[Any] = []
        epoch_sum_t: Any = None
        for i, idx in enumerate(bar):
            rows, owner = draw_rows(idx, rows_per_text, cap, draw)
            batch = pad_batch([train_ids[r] for r in rows], pad_id)
            batch = {k: to_device(v, accelerator.device) for k, v in batch.items()}
            y = to_device(train_targets[idx], accelerator.device)
            with accelerator.accumulate(model), accelerator.autocast():
                logits = model(**batch).logits
                if owner is not None:
                    logits = mean_by_owner(logits, owner.to(logits.device), len(idx))
                loss = loss_fn(logits, y)
                accelerator.backward(loss)
                if accelerator.sync_gradients and settings.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            loss_now = loss.detach().float()
            step_sum_t = loss_now if step_batches == 0 else step_sum_t + loss_now
            step_batches += 1
            weighted = loss_now * len(idx)
            epoch_sum_t = weighted if epoch_sum_t is None else epoch_sum_t + weighted
            if accelerator.sync_gradients:
                result.steps += 1
                step_means.append(step_sum_t / step_batches)
                step_batches = 0
                if settings.tracker is not None:
                    settings.tracker.log({"train_loss": step_means[-1].item(),
                                          "lr": scheduler.get_last_lr()[0]}, result.steps, epoch)
            result.samples_seen += len(idx)
            seen_in_epoch += len(idx)
            # exponential moving average: a readable live loss on the bar, kept on the device
            # so that the loop does not wait for the accelerator at every step (``.item()``
            # synchronises); read back every BAR_EVERY steps only
            running_t = loss_now if i == 0 else 0.95 * running_t + 0.05 * loss_now
            if settings.show_progress and (i % BAR_EVERY == 0 or i == len(batches) - 1):
                bar.set_postfix(loss=f"{running_t.item():.4f}",
                                lr=f"{scheduler.get_last_lr()[0]:.2e}")
        bar.close()
        result.epochs_run = epoch
        if step_means:  # one read-back per epoch
            result.step_losses += [round(v, 6) for v in torch.stack(step_means).tolist()]
        # the epoch's mean loss (per example), not the bar's moving average of the last batches
        train_loss = float(epoch_sum_t.item()) / max(1, seen_in_epoch) if batches else 0.0
        entry: dict[str, Any] = {"epoch": epoch, "step": result.steps, "train_loss": train_loss}
        if validate is not None:
            score, metrics = validate(accelerator.unwrap_model(model))
            entry.update({f"validation_{k}": v for k, v in metrics.items()})
            if settings.tracker is not None:
                settings.tracker.log({f"validation_{k}": v for k, v in metrics.items()},
                                     result.steps, epoch)
            improved = result.best_score is None or score > result.best_score
            log.info(
                "epoch %d/%d: train loss %.4f, validation %s%s",
                epoch, settings.epochs, train_loss,
                ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()),
                " (best so far)" if improved else "",
            )
            if improved:
                result.best_score, result.best_epoch = score, epoch
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in
                              accelerator.unwrap_model(model).state_dict().items()}
                epochs_without_gain = 0
                if checkpoint_dir is not None:
                    save_checkpoint(best_state, checkpoint_dir / "best.safetensors")
            else:
                epochs_without_gain += 1
        else:
            result.best_epoch = epoch
            log.info("epoch %d/%d: train loss %.4f", epoch, settings.epochs, train_loss)
        result.history.append(entry)
        if checkpoint_dir is not None:
            state = accelerator.unwrap_model(model).state_dict()
            save_checkpoint(state, checkpoint_dir / "last.safetensors")
        if (
            validate is not None
            and settings.early_stopping_patience
            and epochs_without_gain >= settings.early_stopping_patience
            and epoch < settings.epochs
        ):
            log.info("early stopping: no improvement for %d epoch(s); best epoch %d",
                     epochs_without_gain, result.best_epoch)
            result.stopped_early = True
            break
    result.seconds = time.perf_counter() - start
    unwrapped = accelerator.unwrap_model(model)
    if best_state is not None and result.best_epoch != result.epochs_run:
        unwrapped.load_state_dict(best_state)
        log.info("restored the weights of epoch %d", result.best_epoch)
    accelerator.free_memory()
    return result


def to_device(tensor: Any, device: Any) -> Any:
    """``tensor`` on ``device``; to a GPU from pinned memory without waiting for the copy
    (the next kernel on the stream waits, the host goes on to prepare the next batch)."""
    if getattr(device, "type", device) != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def draw_rows(idx: list[int], rows_per_text: Sequence[list[int]], cap: int,
              draw: Any) -> tuple[list[int], Any]:
    """The rows of a batch of texts and, when a text has several, which text each row
    belongs to (position in ``idx``); texts with more than ``cap`` windows get ``cap``
    of them drawn at random, in text order."""
    import torch

    rows: list[int] = []
    owner: list[int] = []
    for pos, text in enumerate(idx):
        mine = rows_per_text[text]
        if len(mine) > cap:
            mine = sorted(draw.sample(mine, cap))
        rows.extend(mine)
        owner.extend([pos] * len(mine))
    if len(rows) == len(idx):
        return rows, None
    return rows, torch.tensor(owner, dtype=torch.long)


def mean_by_owner(row_logits: Any, owner: Any, n_texts: int) -> Any:
    """Mean of the rows of each text: ``pool_windows`` in torch, differentiable."""
    import torch

    sums = row_logits.new_zeros((n_texts, row_logits.shape[1])).index_add(0, owner, row_logits)
    counts = torch.bincount(owner, minlength=n_texts).to(row_logits.dtype)
    return sums / counts[:, None]


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """safetensors file written to a temp name then renamed: never half a file."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp))
    tmp.replace(path)


def streaming_loss(
    model: Any, input_ids: Sequence[list[int]], targets: Any, loss_fn: Callable[[Any, Any], Any],
    pad_id: int, batch_size: int, owner: Sequence[int] | None = None, n_texts: int = 0,
) -> tuple[Any, float]:
    """Logits (numpy, input order) and the mean loss, accumulated batch by batch.
    With ``owner`` (windows) the rows are pooled per text first, then the loss taken."""
    if owner is not None:
        import torch

        from lmforge.inference.surface import pool_windows

        rows = forward_logits(model, input_ids, pad_id, batch_size)
        logits = pool_windows(rows, owner, n_texts)
        with torch.no_grad():
            loss = float(loss_fn(torch.from_numpy(logits), targets))
        return logits, loss
    total = 0.0

    def add(logits: Any, idx: list[int]) -> None:
        nonlocal total
        y = targets[idx].to(logits.device)
        total += float(loss_fn(logits, y)) * len(idx)

    logits = forward_logits(model, input_ids, pad_id, batch_size, on_batch=add)
    return logits, total / max(1, len(input_ids))
