"""The pre-training loop, top to bottom in one function.

On ``accelerate`` like the fine-tuning loop (``training/loop.py``): CPU, one
GPU with bf16 autocast, or several processes, unchanged. It counts optimizer
steps rather than epochs (pre-training is usually budgeted in steps), logs the
training loss every ``log_every`` steps and the held-out loss every
``eval_every`` steps, and measures tokens/s over training time only.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.pretrain.objectives import Objective, summarize
from lmforge.training.loop import (
    RESUME_FILE,
    cpu_workers,
    load_resumable,
    save_checkpoint,
    save_resumable,
)
from lmforge.training.optim import build_optimizer, linear_warmup_decay

log = logging.getLogger(__name__)


@dataclass
class LMSettings:
    total_steps: int
    lr: float
    batch_size: int
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    log_every: int = 10
    eval_every: int = 0  # 0: only before and after training
    checkpoint_every: int = 0  # resumable state every this many steps, besides epoch ends
    resume: bool = False  # continue from checkpoint_dir/resume.pt
    mixed_precision: str = "no"  # "no" or "bf16" (see bf16_default)
    seed: int = 0
    show_progress: bool = True


@dataclass
class LMResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    initial_heldout: dict[str, float] = field(default_factory=dict)
    heldout: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    epochs: float = 0.0
    tokens: int = 0  # real (non-pad) input tokens seen in training
    seconds: float = 0.0  # training only: evaluation time excluded
    eval_seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def bf16_default() -> str:
    """bf16 autocast where it is fast: a CUDA GPU, or a CPU with bf16 instructions
    (AVX512-BF16 / AMX; there a small model's step is ~1.5x faster). Elsewhere
    bf16 on the CPU is emulated and slower than float32."""
    import torch

    if torch.cuda.is_available():
        return "bf16"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            flags = next((line for line in stream if line.startswith("flags")), "").split()
    except OSError:
        return "no"
    return "bf16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "no"


def evaluate_heldout(model: Any, objective: Objective, batch_size: int,
                     device: Any = None, world: int = 1, rank: int = 0) -> dict[str, float]:
    """Loss and perplexity on the held-out batches (sums over tokens, then divided).
    Data-parallel (``world`` processes): each scores every world-th batch and the sums
    are gathered once, so every held-out token counts once."""
    import torch

    device = device or next(model.parameters()).device
    totals: dict[str, float] = {}
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        # every process walks every batch: the MLM masks come from one generator in order
        for i, batch in enumerate(objective.heldout_batches(batch_size)):
            if i % world != rank:
                continue
            _, stats = objective.loss(model, {k: v.to(device) for k, v in batch.items()})
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value
    model.train(was_training)
    if world > 1:
        from accelerate.utils import gather_object

        summed: dict[str, float] = {}
        for part in gather_object([totals]):
            for key, value in part.items():
                summed[key] = summed.get(key, 0.0) + value
        totals = summed
    return summarize(totals)


def pretrain_loop(model: Any, objective: Objective, settings: LMSettings,
                  checkpoint_dir: Path | None = None) -> LMResult:
    """Train ``model`` in place for ``settings.total_steps`` optimizer steps.

    Data-parallel (N processes): every process builds the same global batches of
    ``batch_size x N`` sequences and trains on its rows of each (DDP averages gradients).
    With ``checkpoint_dir`` the resumable state is saved atomically at each epoch end and
    every ``settings.checkpoint_every`` steps (``training.loop.save_resumable``), and
    ``settings.resume`` continues from it to the same weights as an uninterrupted run.
    """
    import random

    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed

    from lmforge.progress import Progress

    set_seed(settings.seed)
    # accelerate's state is process-wide: asking for another precision than
    # training/loop.py does would make a later `lmforge.train` in the same
    # process fail. So the same setting here, and CPU bf16 by torch.autocast.
    accelerator = Accelerator(mixed_precision="bf16" if torch.cuda.is_available() else "no",
                              cpu=cpu_workers(),  # global batches split by us: see training/loop.py
                              dataloader_config=DataLoaderConfiguration(split_batches=True))
    world, rank = accelerator.num_processes, accelerator.process_index
    optimizer = build_optimizer(model, settings.lr, settings.weight_decay)
    warmup = int(settings.warmup_ratio * settings.total_steps)
    scheduler = linear_warmup_decay(optimizer, warmup, settings.total_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    core = accelerator.unwrap_model(model)  # the loss reaches into heads (see objectives.py)
    global_batch = settings.batch_size * world
    steps_per_epoch = objective.steps_per_epoch(global_batch)
    unused = random.Random(0)  # save_resumable's window draws: none here

    result = LMResult()
    window: list[float] = []
    running = 0.0
    epoch, skip = 0, 0
    resume_path = checkpoint_dir / RESUME_FILE if checkpoint_dir is not None else None
    if settings.resume and resume_path is not None and resume_path.exists():
        state = load_resumable(resume_path, accelerator, model, optimizer, scheduler, unused)
        result = LMResult(**state["result"])
        epoch, skip, window, running = (state["epoch"] - 1, state["batch"], state["window"],
                                        state["running"])
        if state["epoch_done"]:
            epoch, skip = epoch + 1, 0
        log.info("resumed at step %d (epoch %d, batch %d)", result.steps, epoch + 1, skip)
    start = time.perf_counter() - result.seconds - result.eval_seconds

    def checkpoint(position: int, epoch_done: bool) -> None:
        save_resumable(resume_path, accelerator, model, optimizer, scheduler, unused, {
            "epoch": epoch, "batch": position, "epoch_done": epoch_done, "window": window,
            "running": running, "result": dataclasses.asdict(result)})

    if not result.steps and not result.initial_heldout:
        result.initial_heldout = evaluate_heldout(core, objective, settings.eval_batch_size,
                                                  accelerator.device, world, rank)
        if result.initial_heldout:
            result.history.append({"step": 0, **_prefixed(result.initial_heldout)})
        result.eval_seconds += time.perf_counter() - start

    # a live bar on a terminal, a line every few tens of seconds in a log (progress.py)
    progress = Progress(f"pretrain {objective.name}", total=settings.total_steps, unit="step",
                        enabled=settings.show_progress and accelerator.is_main_process,
                        initial=result.steps)
    model.train()
    while result.steps < settings.total_steps:
        epoch += 1
        position = 0
        for batch in objective.batches(epoch, global_batch):
            position += 1
            if position <= skip:  # done before the checkpoint; the masks replay the same
                continue
            mask = batch.get("attention_mask")
            result.tokens += int(mask.sum()) if mask is not None else batch["input_ids"].numel()
            batch, weight = _shard(batch, world, rank)
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            with torch.autocast(accelerator.device.type, dtype=torch.bfloat16,
                                enabled=settings.mixed_precision == "bf16"):
                loss, _ = objective.loss(core, batch)
            accelerator.backward(loss * weight if world > 1 else loss)
            if settings.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            result.steps += 1
            value = loss.item()
            # wall time minus evaluation: batching and masking count as training
            result.seconds = time.perf_counter() - start - result.eval_seconds
            window.append(value)
            # exponential moving average: a readable live loss on the bar
            running = value if result.steps == 1 else 0.98 * running + 0.02 * value
            if progress.due():
                progress.set(loss=f"{running:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}",
                             tokens_per_s=f"{result.tokens / max(result.seconds, 1e-9):.0f}")
            progress.update()

            last = result.steps >= settings.total_steps
            if result.steps % settings.log_every == 0 or last:
                result.history.append({"step": result.steps, "epoch": epoch,
                                       "train_loss": sum(window) / len(window),
                                       "lr": scheduler.get_last_lr()[0]})
                window = []
            if last or (settings.eval_every and result.steps % settings.eval_every == 0):
                tic = time.perf_counter()
                heldout = evaluate_heldout(core, objective, settings.eval_batch_size,
                                           accelerator.device, world, rank)
                result.eval_seconds += time.perf_counter() - tic
                if heldout:
                    result.history.append({"step": result.steps, **_prefixed(heldout)})
                    log.info("step %d/%d: train loss %.4f, held-out loss %.4f (perplexity %.2f)",
                             result.steps, settings.total_steps, running, heldout["loss"],
                             heldout["perplexity"])
                result.heldout = heldout
            if checkpoint_dir is not None and last and accelerator.is_main_process:
                # clone: tied weights (embeddings = output projection) share memory,
                # which safetensors refuses to write twice
                save_checkpoint({k: v.detach().clone() for k, v in core.state_dict().items()},
                                checkpoint_dir / "last.safetensors")
            if checkpoint_dir is not None and not last and settings.checkpoint_every and (
                    result.steps % settings.checkpoint_every == 0):
                checkpoint(position, False)
            if last:
                break
        else:
            if checkpoint_dir is not None:
                checkpoint(position, True)
        skip = 0
    progress.close()
    result.seconds = time.perf_counter() - start - result.eval_seconds
    result.epochs = result.steps / max(1, steps_per_epoch)
    accelerator.free_memory()
    log.info("pre-trained %d steps (%.2f epochs) in %.0f s: %.0f tokens/s", result.steps,
             result.epochs, result.seconds, result.tokens_per_second)
    return result


def _shard(batch: dict[str, Any], world: int, rank: int) -> tuple[dict[str, Any], float]:
    """This process's rows of a global batch (every world-th) and its loss weight."""
    if world == 1:
        return batch, 1.0
    n = len(batch["input_ids"])
    if rank >= n:  # fewer rows than processes: take part in the average with weight 0
        return {k: v[:1] for k, v in batch.items()}, 0.0
    mine = {k: v[rank::world] for k, v in batch.items()}
    return mine, len(mine["input_ids"]) * world / n


def _prefixed(metrics: dict[str, float]) -> dict[str, float]:
    return {f"heldout_{k}": v for k, v in metrics.items() if k != "predicted_tokens"}
