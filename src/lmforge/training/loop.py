"""The training loop, top to bottom in one function.

On ``accelerate`` so the same loop runs on CPU, one GPU (bf16 autocast) or
several processes later without change.
"""

from __future__ import annotations

import dataclasses
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



@dataclass
class LoopSettings:
    epochs: int
    lr: float
    batch_size: int  # per process: a data-parallel step takes batch_size x processes examples
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
    checkpoint_every: int = 0  # optimizer steps between resumable checkpoints (0: epoch ends)
    resume: bool = False  # continue from checkpoint_dir/resume.pt
    resumable: bool = False  # save resume.pt in checkpoint_dir (a recipe that can resume)


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


RESUME_FILE = "resume.pt"  # in checkpoint_dir; rundir.RESUMABLE_STATE names it too


def cpu_workers() -> bool:
    """Started by torchrun/``accelerate launch`` on a machine without CUDA: accelerate
    needs ``cpu=True`` to set up its multi-CPU (gloo) state, else every worker believes it
    is alone. Otherwise False: one process keeps whatever device accelerate picks."""
    import os

    import torch

    return "LOCAL_RANK" in os.environ and not torch.cuda.is_available()


def process_state() -> Any:
    """accelerate's process-wide state (rank, number of processes), set up once."""
    from accelerate import PartialState

    return PartialState(cpu=cpu_workers())


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

    Data-parallel (``accelerate launch``/``torchrun``, N processes): every process builds
    the same global batches of ``batch_size x N`` examples and trains on its own shard of
    each; DDP averages the gradients. Each shard's mean loss is weighted by its share of the
    batch, so a step equals one process's step on the whole global batch.

    With ``checkpoint_dir`` the resumable state (weights, optimizer, scheduler, every RNG,
    the place in the epoch's batch order, early stopping, the tracker's step) is saved
    atomically at each epoch end and every ``settings.checkpoint_every`` optimizer steps;
    ``settings.resume`` continues from it, to the same weights as an uninterrupted run.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed

    from lmforge.progress import Progress

    set_seed(settings.seed)
    accelerator = Accelerator(
        mixed_precision="bf16" if torch.cuda.is_available() else "no",
        gradient_accumulation_steps=settings.grad_accum, cpu=cpu_workers(),
        # we split each global batch ourselves: one scheduler step per optimizer step
        # (accelerate's default steps it once per process, assuming per-process batches)
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    world, rank = accelerator.num_processes, accelerator.process_index
    global_batch = settings.batch_size * world
    optimizer = build_optimizer(model, settings.lr, settings.weight_decay)
    n_examples = len(rows_per_text) if rows_per_text is not None else len(train_ids)
    batches_per_epoch = math.ceil(n_examples / global_batch)
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
    first_epoch, skip, running, seen_in_epoch = 1, 0, 0.0, 0
    epoch_sum: float | None = None  # the epoch's loss sum and step losses, at a checkpoint
    step_list: list[float] = []
    resume_path = checkpoint_dir / RESUME_FILE if checkpoint_dir is not None else None
    if settings.resume and resume_path is not None and resume_path.exists():
        state = load_resumable(resume_path, accelerator, model, optimizer, scheduler, draw)
        result = FitResult(**state["result"])
        best_state, epochs_without_gain = state["best_state"], state["epochs_without_gain"]
        first_epoch, skip = state["epoch"], state["batch"]
        running, seen_in_epoch = state["running"], state["seen_in_epoch"]
        epoch_sum, step_list = state["epoch_sum"], state["step_list"]
        if skip >= batches_per_epoch:  # saved at the epoch's end: go on with the next one
            first_epoch, skip = first_epoch + 1, 0
        if settings.tracker is not None:
            settings.tracker.rewind(result.steps)
        log.info("resumed at step %d (epoch %d, batch %d of %d)", result.steps, first_epoch,
                 skip, batches_per_epoch)
    elif settings.resume and settings.tracker is not None:
        settings.tracker.rewind(0)  # killed before its first checkpoint: start over

    def checkpoint(epoch: int, position: int) -> None:
        if checkpoint_dir is None or not settings.resumable:
            return
        save_resumable(resume_path, accelerator, model, optimizer, scheduler, draw, {
            "epoch": epoch, "batch": position, "running": running,
            "seen_in_epoch": seen_in_epoch, "epoch_sum": epoch_sum, "step_list": step_list,
            "result": dataclasses.asdict(result),
            "best_state": best_state, "epochs_without_gain": epochs_without_gain})

    start = time.perf_counter() - result.seconds
    for epoch in range(first_epoch, settings.epochs + 1):
        if result.stopped_early:
            break
        model.train()
        batches = list(length_grouped_batches(lengths, global_batch, settings.seed + epoch))
        # a live bar on a terminal, a line every few tens of seconds in a log (progress.py)
        progress = Progress(f"epoch {epoch}/{settings.epochs}", total=len(batches), unit="batch",
                            enabled=settings.show_progress and accelerator.is_main_process,
                            leave=False, initial=skip)
        if not skip:
            running, seen_in_epoch, epoch_sum, step_list = 0.0, 0, None, []
        # per-step and epoch losses stay on the device and are read back once per epoch:
        # ``.item()`` at every step would make the loop wait for the accelerator. Resumed
        # mid-epoch: the sums so far, saved as floats (exact back in float32)
        device = accelerator.device
        running_t: Any = torch.tensor(running, device=device) if skip else None
        step_sum_t: Any = None
        step_batches = 0
        step_means: list[Any] = [torch.tensor(v, device=device) for v in step_list]
        epoch_sum_t: Any = None if epoch_sum is None else torch.tensor(epoch_sum, device=device)
        for i, idx in enumerate(batches):
            if i < skip:  # done before the checkpoint (its RNG states are past them)
                continue
            local, weight = shard_positions(len(idx), world, rank)
            rows, owner = draw_rows(idx, rows_per_text, cap, draw)  # same draws everywhere
            rows, owner = select_texts(rows, owner, local)
            mine = [idx[p] for p in local]
            batch = pad_batch([train_ids[r] for r in rows], pad_id)
            batch = {k: to_device(v, accelerator.device) for k, v in batch.items()}
            y = to_device(train_targets[mine], accelerator.device)
            with accelerator.accumulate(model), accelerator.autocast():
                logits = model(**batch).logits
                if owner is not None:
                    logits = mean_by_owner(logits, owner.to(logits.device), len(mine))
                loss = loss_fn(logits, y)
                # DDP averages the processes' gradients: weigh each shard's mean by its
                # share of the global batch, so the average is the global batch's mean
                accelerator.backward(loss * weight if world > 1 else loss)
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
            result.samples_seen += len(idx)
            seen_in_epoch += len(idx)
            # exponential moving average: a readable live loss on the bar, kept on the device
            # so that the loop does not wait for the accelerator at every step (``.item()``
            # synchronises); read back only when the progress is about to be shown
            running_t = loss_now if i == 0 else 0.95 * running_t + 0.05 * loss_now
            if progress.due():
                progress.set(loss=f"{running_t.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
            progress.update()
            if accelerator.sync_gradients:
                result.steps += 1
                step_means.append(step_sum_t / step_batches)
                step_batches = 0
                if settings.tracker is not None:
                    settings.tracker.log({"train_loss": step_means[-1].item(),
                                          "lr": scheduler.get_last_lr()[0]}, result.steps, epoch)
                if (settings.checkpoint_every and result.steps % settings.checkpoint_every == 0
                        and i + 1 < len(batches)):  # the epoch's end saves anyway
                    running, epoch_sum = float(running_t.item()), float(epoch_sum_t.item())
                    step_list = [float(v) for v in step_means]
                    result.seconds = time.perf_counter() - start
                    checkpoint(epoch, i + 1)
        progress.close()
        skip = 0
        running = float(running_t.item()) if running_t is not None else 0.0
        result.epochs_run = epoch
        if step_means:  # one read-back per epoch
            result.step_losses += [round(v, 6) for v in torch.stack(step_means).tolist()]
        # the epoch's mean loss (per example), not the progress's moving average of the last batches
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
                if checkpoint_dir is not None and accelerator.is_main_process:
                    save_checkpoint(best_state, checkpoint_dir / "best.safetensors")
            else:
                epochs_without_gain += 1
        else:
            result.best_epoch = epoch
            log.info("epoch %d/%d: train loss %.4f", epoch, settings.epochs, train_loss)
        result.history.append(entry)
        if checkpoint_dir is not None and accelerator.is_main_process:
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
        result.seconds = time.perf_counter() - start
        checkpoint(epoch, len(batches))
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


def shard_positions(n: int, world: int, rank: int) -> tuple[list[int], float]:
    """This process's positions in a global batch of ``n`` (strided: every shard gets
    lengths from the whole length-sorted batch) and its loss weight, shard share x world.
    A process left without an example (n < world) takes the first with weight 0: it must
    still take part in the gradient average."""
    local = list(range(rank, n, world))
    if not local:
        return [0], 0.0
    return local, len(local) * world / n


def select_texts(rows: list[int], owner: Any, local: list[int]) -> tuple[list[int], Any]:
    """The rows (and owners, renumbered) of the texts at ``local`` positions of a batch."""
    if owner is None:
        return [rows[p] for p in local], None
    import torch

    new_pos = {p: j for j, p in enumerate(local)}
    kept = [(r, new_pos[o]) for r, o in zip(rows, owner.tolist(), strict=True) if o in new_pos]
    return [r for r, _ in kept], torch.tensor([o for _, o in kept], dtype=torch.long)


def rng_states(draw: random.Random) -> dict[str, Any]:
    """Every random state the loop consumes: Python's, numpy's, torch's (CPU and CUDA:
    dropout) and the window draws'."""
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "draw": draw.getstate()}


def set_rng_states(states: dict[str, Any], draw: random.Random) -> None:
    import numpy as np
    import torch

    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    draw.setstate(states["draw"])


def save_resumable(path: Path, accelerator: Any, model: Any, optimizer: Any, scheduler: Any,
                   draw: random.Random, loop_state: dict[str, Any]) -> None:
    """One file, written to a temp name then renamed (a kill leaves the previous one whole);
    the main process writes it, with every process's RNG states."""
    import torch
    from accelerate.utils import gather_object

    rngs = [rng_states(draw)]
    if accelerator.num_processes > 1:
        rngs = gather_object(rngs)
    if accelerator.is_main_process:
        state = {"format": 1, "processes": accelerator.num_processes,
                 "model": {k: v.detach().to("cpu", copy=True) for k, v in
                           accelerator.unwrap_model(model).state_dict().items()},
                 "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "rng": rngs, **loop_state}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(state, tmp)
        tmp.replace(path)
    accelerator.wait_for_everyone()


def load_resumable(path: Path, accelerator: Any, model: Any, optimizer: Any, scheduler: Any,
                   draw: random.Random) -> dict[str, Any]:
    """The loop state of ``save_resumable``; weights, optimizer, scheduler and RNGs restored."""
    import torch

    from lmforge.errors import ConfigError

    state = torch.load(path, map_location="cpu", weights_only=False)  # our own file
    if state["processes"] != accelerator.num_processes:
        raise ConfigError(f"cannot resume {path}: it was written by {state['processes']} "
                          f"process(es), this run has {accelerator.num_processes}. Resume with "
                          f"--processes {state['processes']}.")
    accelerator.unwrap_model(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_states(state["rng"][accelerator.process_index], draw)
    return state


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
    With ``owner`` (windows) the rows are pooled per text first, then the loss taken.

    In a data-parallel run each process scores a contiguous slice of the texts and the
    slices are gathered once, in order: every text is scored once, none twice."""
    state = process_state()
    if state.num_processes > 1:
        return _sharded_loss(model, input_ids, targets, loss_fn, pad_id, batch_size, owner,
                             n_texts, state)
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


def _sharded_loss(model: Any, input_ids: Sequence[list[int]], targets: Any,
                  loss_fn: Callable[[Any, Any], Any], pad_id: int, batch_size: int,
                  owner: Sequence[int] | None, n_texts: int, state: Any) -> tuple[Any, float]:
    import numpy as np
    import torch
    from accelerate.utils import gather_object

    from lmforge.inference.surface import pool_windows

    texts = n_texts if owner is not None else len(input_ids)
    lo = texts * state.process_index // state.num_processes
    hi = texts * (state.process_index + 1) // state.num_processes
    if owner is not None:
        rows = [r for r, o in enumerate(owner) if lo <= o < hi]
        mine = forward_logits(model, [input_ids[r] for r in rows], pad_id, batch_size) \
            if rows else None
        part = pool_windows(mine, [owner[r] - lo for r in rows], hi - lo) if rows else None
    else:
        part = forward_logits(model, input_ids[lo:hi], pad_id, batch_size) if hi > lo else None
    parts = [p for p in gather_object([part]) if p is not None]
    logits = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    with torch.no_grad():
        loss = float(loss_fn(torch.from_numpy(logits), targets)) if len(logits) else 0.0
    return logits, loss
