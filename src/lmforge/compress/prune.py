"""``lmforge compress prune RUN --heads F | --layers N``: structured pruning, then a short
recovery fine-tune on the run's training split.

Heads: Michel, Levy & Neubig (2019), "Are Sixteen Heads Really Better than
One?" A gate xi_h = 1 multiplies each head's output; |dL/dxi_h| summed over
training batches estimates how much the loss would change without the head.
Scores are normalised per layer (their L2 rule), ranked across the whole model,
and the lowest go, every layer keeping at least one head.

Layers: Sajjad et al. (2020), "On the Effect of Dropping Layers of Pre-trained
Transformer Models": dropping the top layers was the most reliable simple
strategy, so ``--layers N`` removes the top N.
"""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.compress.config import PruneConfig
from lmforge.compress.export import CompressResult, refuse_tfidf_run
from lmforge.errors import ConfigError, ModelError

log = logging.getLogger(__name__)


def head_importance(model: Any, input_ids: Sequence[list[int]], targets: Any,
                    loss_fn: Any, pad_id: int, batch_size: int) -> list[list[float]]:
    """Per layer, per present head: sum over batches of |dL/d gate| (unnormalised)."""
    import torch

    from lmforge.data.tokenize import pad_batch, sorted_batches
    from lmforge.models.structure import attention_outputs, head_size, heads_per_layer

    size = head_size(model)
    counts = heads_per_layer(model)
    gates = [torch.ones(n, requires_grad=True) for n in counts]
    device = next(model.parameters()).device

    def gate_hook(gate: Any) -> Any:
        def hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
            x = args[0]
            shaped = x.view(*x.shape[:-1], gate.numel(), size) * gate.to(x.device)[:, None]
            return (shaped.view(x.shape), *args[1:])
        return hook

    handles = [linear.register_forward_pre_hook(gate_hook(gates[i]))
               for i, linear in attention_outputs(model)]
    importance = [torch.zeros(n) for n in counts]
    was_training = model.training
    model.eval()  # dropout off: the score is about the model, not the noise
    try:
        for idx in sorted_batches([len(r) for r in input_ids], batch_size):
            batch = {k: v.to(device) for k, v in pad_batch([input_ids[i] for i in idx],
                                                           pad_id).items()}
            loss = loss_fn(model(**batch).logits, targets[idx].to(device))
            grads = torch.autograd.grad(loss, gates)
            for acc, grad in zip(importance, grads, strict=True):
                acc += grad.detach().abs().cpu()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return [row.tolist() for row in importance]


def normalize_per_layer(importance: list[list[float]]) -> list[list[float]]:
    """Michel et al.'s layer-wise L2 normalisation, so layers compare fairly."""
    out = []
    for row in importance:
        norm = sum(v * v for v in row) ** 0.5
        out.append([v / (norm + 1e-20) for v in row])
    return out


def choose_heads(importance: list[list[float]], fraction: float,
                 original_index: list[list[int]]) -> dict[int, list[int]]:
    """The ``fraction`` least important heads overall, at least one kept per layer.

    Returns layer -> original head indices to remove.
    """
    total = sum(len(row) for row in importance)
    n_remove = round(fraction * total)
    removable = total - len(importance)
    if n_remove < 1:
        raise ConfigError(
            f"--heads {fraction:g} removes no head: the model has {total} heads, so the fraction "
            f"must be at least {0.5 / total:.3g}."
        )
    if n_remove > removable:
        raise ConfigError(
            f"--heads {fraction:g} would remove {n_remove} of {total} heads, but each of the "
            f"{len(importance)} layers keeps at least one: at most {removable} can go "
            f"(--heads {removable / total:.2f}). Remove layers instead (--layers N)."
        )
    ranked = sorted((score, layer, pos) for layer, row in enumerate(importance)
                    for pos, score in enumerate(row))
    left = [len(row) for row in importance]
    chosen: dict[int, list[int]] = {}
    n_chosen = 0
    for _, layer, pos in ranked:
        if n_chosen == n_remove:
            break
        if left[layer] > 1:
            left[layer] -= 1
            n_chosen += 1
            chosen.setdefault(layer, []).append(original_index[layer][pos])
    return {layer: sorted(heads) for layer, heads in sorted(chosen.items())}


def recovery_settings(config: Any, eval_batch_size: int) -> Any:
    from lmforge.training.loop import LoopSettings

    return LoopSettings(
        epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
        eval_batch_size=eval_batch_size, weight_decay=0.01, warmup_ratio=0.1, max_grad_norm=1.0,
        grad_accum=1, early_stopping_patience=0, seed=config.seed,
        show_progress=config.show_progress,
    )


def prune_run(config: PruneConfig) -> CompressResult:
    """Prune ``config.run_dir`` and write the pruned run to ``config.out`` with a report."""
    from lmforge.compress.measure import measure
    from lmforge.compress.report import comparison_json, write_report
    from lmforge.compress.rundata import test_examples, training_examples
    from lmforge.data.clean import clean_text
    from lmforge.data.tokenize import encode_texts
    from lmforge.inference.torch import pad_id as pad_id_of
    from lmforge.labels import target_tensor
    from lmforge.models.structure import (
        count_parameters,
        encoder_layers,
        keep_layers,
        remaining_heads,
        remove_heads,
    )
    from lmforge.rundir import (
        ONNX,
        atomic_run_dir,
        check_run_dir,
        refuse_existing,
        write_json,
        write_manifest,
    )
    from lmforge.runs.kinds import model_kind
    from lmforge.runs.load import load_run
    from lmforge.training.loop import fit
    from lmforge.training.losses import make_loss

    config.validate()
    source = check_run_dir(config.run_dir)
    kind = model_kind(source)  # an ensemble run: its transformer part
    if kind == ONNX:
        raise ModelError(f"'{source}' holds an ONNX model; prune the PyTorch run it was exported "
                         "from, then export the pruned run.")
    refuse_tfidf_run(source, "prune")
    out = Path(config.out)
    refuse_existing(out, config.overwrite)
    original = load_run(source)
    parts_note = None
    if getattr(original, "backend", None) == "ensemble":
        parts_note = (f"{source.name} is an ensemble run ({original.describe()}): its transformer "
                      "part was pruned; the TF-IDF part and the blend are not carried over, and "
                      "'original' is the transformer part alone.")
        log.warning("'%s' is an ensemble run (it predicts with %s): pruning its transformer part "
                    "(model/). The pruned run is the pruned transformer alone: the TF-IDF part "
                    "and the blend weight, chosen for the unpruned transformer, are not carried "
                    "over, and the report compares the transformer part before and after.",
                    source, original.describe())
        original = original.transformer
    n_layers = len(encoder_layers(original.model))
    if config.layers is not None and config.layers >= n_layers:
        raise ConfigError(
            f"--layers {config.layers}: the model has {n_layers} layers and at least one must "
            f"stay; remove at most {n_layers - 1}."
        )
    test = test_examples(original.settings, original.task, config.data)
    train = training_examples(original.settings, original.task, config.train_data,
                              config.max_train_samples, config.seed)
    log.info("training data for importance and recovery: %s (%d examples)", train.source,
             len(train))
    encoded = encode_texts(original.tokenizer, [clean_text(t) for t in train.texts],
                           original.max_length, original.truncation)
    targets = target_tensor(original.task, train.targets, original.labels)
    loss_fn = make_loss(original.task)
    pad_id = pad_id_of(original.tokenizer)

    model = copy.deepcopy(original.model)
    before = count_parameters(model)
    details: dict[str, Any] = {"source": str(source.resolve()), "parameters_before": before,
                               "seed": config.seed}
    if config.heads is not None:
        sample = list(range(min(config.importance_samples, len(encoded.input_ids))))
        raw = head_importance(model, [encoded.input_ids[i] for i in sample], targets[sample],
                              loss_fn, pad_id, original.batch_size)
        importance = normalize_per_layer(raw)
        heads = choose_heads(importance, config.heads, remaining_heads(model))
        remove_heads(model, heads)
        n_removed = sum(len(v) for v in heads.values())
        log.info("removed %d attention heads: %s", n_removed,
                 "; ".join(f"layer {k}: {v}" for k, v in heads.items()))
        details.update({"method": "heads", "fraction": config.heads, "removed_heads": heads,
                        "importance": importance, "importance_samples": len(sample)})
        what = f"{n_removed} attention heads ({config.heads:.0%})"
    else:
        assert config.layers is not None
        keep = list(range(n_layers - config.layers))
        keep_layers(model, keep)
        details.update({"method": "layers", "removed_layers": list(range(len(keep), n_layers))})
        what = f"the top {config.layers} of {n_layers} layers"
    details["parameters_after"] = count_parameters(model)
    log.info("parameters: %d -> %d", before, details["parameters_after"])

    if config.epochs:
        fitted = fit(model, encoded.input_ids, targets, loss_fn,
                     recovery_settings(config, original.batch_size), pad_id)
        details["recovery"] = {"epochs": fitted.epochs_run, "examples": len(train),
                               "seconds": fitted.seconds, "history": fitted.history,
                               "data": train.source}
    model.eval()

    with atomic_run_dir(out, config.overwrite) as tmp:
        model.save_pretrained(str(tmp / "model"))
        original.tokenizer.save_pretrained(str(tmp / "model"))
        shutil.copy2(source / "config.yaml", tmp / "config.yaml")
        write_manifest(tmp, kind)
        # measure what was saved: the round trip is part of the check
        pruned = load_run(tmp, complete=False)
        bench = config.bench()
        rows = [measure(original, "original", test, bench),
                measure(pruned, "pruned", test, bench)]
        recovery = (f"then {config.epochs} epoch(s) of recovery fine-tuning on {len(train)} "
                    f"examples of {train.source}" if config.epochs else "no recovery fine-tune")
        notes = [f"Removed {what}, {recovery}."] + ([parts_note] if parts_note else [])
        if details["method"] == "heads":
            notes.append("Removed heads (layer: original indices): " + "; ".join(
                f"{k}: {v}" for k, v in details["removed_heads"].items()) + ".")
        report = write_report(tmp, f"Pruning {source.name}", rows, bench, notes)
        metrics: dict[str, Any] = {"test": rows[-1].test_metrics} if rows[-1].test_metrics else {}
        metrics.update({"prune": details, "comparison": comparison_json(rows, bench)})
        write_json(tmp / "metrics.json", metrics)
    log.info("wrote %s", out)
    return CompressResult(out=out, rows=rows, report=out / report.name, details=details)
