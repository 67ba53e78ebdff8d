"""``lmforge distill --teacher RUN --student SPEC --data FILE``: knowledge distillation.

Hinton, Vinyals & Dean (2015): the student matches the teacher's
temperature-softened distribution (KL divergence, scaled by T^2 so its
gradients keep their size as T changes) and the true labels (cross-entropy),
mixed by ``alpha``. The teacher scores the training texts once, before the
student trains, so distillation costs one teacher forward pass per text.

A ``layers:N`` student is the teacher with N of its layers, taken evenly
spaced (DistilBERT's "every other layer" initialisation, Sanh et al. 2019).
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.compress.config import DistillConfig
from lmforge.compress.export import CompressResult
from lmforge.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_KEYS = {"hidden": "hidden_size", "layers": "num_hidden_layers",
               "heads": "num_attention_heads", "intermediate": "intermediate_size"}
SPEC_HELP = ("--student takes 'layers:N' (the teacher with N layers), "
             "'config:hidden=H,layers=L,heads=A,intermediate=I' (the teacher's architecture at "
             "that size, random init), or a model directory / registry name such as 'default'")


@dataclass
class StudentSpec:
    kind: str  # layers | config | model
    text: str
    layers: int | None = None
    overrides: dict[str, int] = field(default_factory=dict)


def parse_student(spec: str) -> StudentSpec:
    spec = spec.strip()
    if spec.startswith("layers:"):
        value = spec.split(":", 1)[1]
        if not re.fullmatch(r"\d+", value) or int(value) < 1:
            raise ConfigError(f"--student {spec}: N must be a whole number >= 1. {SPEC_HELP}.")
        return StudentSpec("layers", spec, layers=int(value))
    if spec.startswith("config:"):
        overrides: dict[str, int] = {}
        problems = []
        for part in filter(None, spec.split(":", 1)[1].split(",")):
            key, _, value = part.partition("=")
            key = key.strip()
            if key not in CONFIG_KEYS:
                problems.append(f"unknown key '{key}' (valid: {', '.join(CONFIG_KEYS)})")
            elif not re.fullmatch(r"\d+", value.strip()) or int(value) < 1:
                problems.append(f"'{key}' must be a whole number >= 1, got '{value}'")
            else:
                overrides[CONFIG_KEYS[key]] = int(value)
        if not overrides and not problems:
            problems.append("no sizes given")
        if problems:
            raise ConfigError(f"--student {spec}: " + "; ".join(problems) + f". {SPEC_HELP}.")
        return StudentSpec("config", spec, overrides=overrides)
    return StudentSpec("model", spec)


def spaced_layers(n_teacher: int, n_student: int) -> list[int]:
    """Indices of ``n_student`` teacher layers, evenly spaced from the bottom."""
    return [i * n_teacher // n_student for i in range(n_student)]


def build_student(spec: StudentSpec, teacher: Any, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, description) of the student; refuses one not smaller than the teacher."""
    import torch

    from lmforge.models.structure import count_parameters, encoder_layers, keep_layers

    teacher_layers = len(encoder_layers(teacher.model))
    info: dict[str, Any] = {"spec": spec.text, "kind": spec.kind}
    if spec.kind == "layers":
        assert spec.layers is not None
        if spec.layers >= teacher_layers:
            raise ConfigError(
                f"--student {spec.text}: the student would not be smaller than the teacher, which "
                f"has {teacher_layers} layers. Use layers:N with N < {teacher_layers}."
            )
        model = copy.deepcopy(teacher.model)
        kept = spaced_layers(teacher_layers, spec.layers)
        keep_layers(model, kept)
        info["teacher_layers_kept"] = kept
        tokenizer = teacher.tokenizer
    elif spec.kind == "config":
        from transformers import AutoModelForSequenceClassification

        config = copy.deepcopy(teacher.model.config)
        for key, value in spec.overrides.items():
            setattr(config, key, value)
        config.pruned_heads = {}
        if config.hidden_size % config.num_attention_heads:
            raise ConfigError(f"--student {spec.text}: hidden ({config.hidden_size}) must be a "
                              f"multiple of heads ({config.num_attention_heads}).")
        torch.manual_seed(seed)
        model = AutoModelForSequenceClassification.from_config(config)
        tokenizer = teacher.tokenizer
        info["config"] = {k: getattr(config, k) for k in CONFIG_KEYS.values()}
    else:
        from lmforge.models.build import build_classifier, load_tokenizer
        from lmforge.models.registry import resolve_model_dir

        model_dir = resolve_model_dir(spec.text)
        torch.manual_seed(seed)
        model = build_classifier(model_dir, teacher.task, teacher.labels)
        tokenizer = load_tokenizer(model_dir)
        info["model_dir"] = str(model_dir)
    student_params, teacher_params = count_parameters(model), count_parameters(teacher.model)
    if student_params >= teacher_params:
        raise ConfigError(
            f"--student {spec.text} has {student_params:,} parameters and the teacher "
            f"{teacher_params:,}: a student must be smaller than its teacher. Use fewer layers "
            f"(layers:N with N < {teacher_layers}) or a smaller model or config."
        )
    info.update({"parameters": student_params, "teacher_parameters": teacher_params})
    return model, tokenizer, info


def distillation_loss(task: str, n_out: int, temperature: float, alpha: float) -> Any:
    """loss(student_logits, y) where y = [gold target(s) | teacher logits] per row."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    t = temperature

    def loss(logits: Any, y: Any) -> Any:
        logits = logits.float()
        gold, teacher = y[:, :-n_out], y[:, -n_out:]
        if task == "single":
            soft = F.kl_div(F.log_softmax(logits / t, dim=-1), F.softmax(teacher / t, dim=-1),
                            reduction="batchmean") * t * t
            hard = F.cross_entropy(logits, gold[:, 0].long())
        elif task == "multi":
            soft_targets = torch.sigmoid(teacher / t)
            soft = F.binary_cross_entropy_with_logits(logits / t, soft_targets) * t * t
            hard = F.binary_cross_entropy_with_logits(logits, gold)
        else:
            soft = F.mse_loss(logits, teacher)
            hard = F.mse_loss(logits, gold)
        return alpha * soft + (1.0 - alpha) * hard

    return loss


def distill_run(config: DistillConfig) -> CompressResult:
    """Distil ``config.teacher`` into a smaller student written to ``config.out``."""
    import torch

    from lmforge.compress.measure import measure
    from lmforge.compress.prune import recovery_settings
    from lmforge.compress.report import comparison_json, write_report
    from lmforge.compress.rundata import load_labelled_file, test_examples
    from lmforge.data.clean import clean_text
    from lmforge.data.tokenize import encode_texts
    from lmforge.inference.torch import pad_id
    from lmforge.labels import check_known, target_tensor
    from lmforge.models.build import PROBLEM_TYPES
    from lmforge.rundir import (
        ONNX,
        TFIDF,
        TRANSFORMERS,
        atomic_run_dir,
        check_run_dir,
        read_config,
        refuse_existing,
        write_config,
        write_json,
        write_manifest,
    )
    from lmforge.runs.kinds import model_kind
    from lmforge.runs.load import load_run
    from lmforge.training.loop import fit

    config.validate()
    spec = parse_student(config.student)
    source = check_run_dir(config.teacher)
    teacher_kind = model_kind(source)  # an ensemble run: its transformer part
    if teacher_kind == ONNX:
        raise ConfigError(f"--teacher '{source}' holds an ONNX model; distil from the PyTorch run "
                          "it was exported from.")
    if teacher_kind == TFIDF:
        raise ConfigError(
            f"--teacher '{source}' is a TF-IDF run (`lmforge train --model tfidf`): distillation "
            "shrinks a transformer teacher into a smaller transformer student, and a TF-IDF model "
            "is already smaller and faster than any such student. Use it as it is (`lmforge serve`"
            " / `lmforge predict` take it), or pass a transformer run as --teacher."
        )
    out = Path(config.out)
    refuse_existing(out, config.overwrite)
    teacher = load_run(source)
    network = teacher  # what the student is cut from
    if getattr(teacher, "backend", None) == "ensemble":
        log.info("the teacher '%s' is an ensemble run: the student learns what it predicts (%s) "
                 "and is built from its transformer part", source, teacher.describe())
        network = teacher.transformer
    student, tokenizer, info = build_student(spec, network, config.seed)
    student.config.problem_type = PROBLEM_TYPES[teacher.task]

    examples = load_labelled_file(config.data, teacher.settings, teacher.task)
    if config.max_train_samples and len(examples) > config.max_train_samples:
        from lmforge.data.split import stratified_subset

        examples = stratified_subset(examples, config.max_train_samples, config.seed)
    texts, gold = list(examples.texts), list(examples.targets)
    check_known(teacher.task, gold, teacher.labels, str(config.data))
    test = test_examples(teacher.settings, teacher.task, config.test)
    if test is not None:
        overlap = len(set(texts) & set(test.texts))
        if overlap:
            log.warning("leakage: %d texts of %s are also in the test data (%s); the student's "
                        "test scores will be optimistic", overlap, config.data, test.source)

    log.info("teacher scores %d training texts (once)", len(texts))
    teacher_logits = torch.from_numpy(teacher.logits(texts)).float()
    n_out = teacher_logits.shape[1]
    gold_tensor = target_tensor(teacher.task, gold, teacher.labels).float().view(len(texts), -1)
    targets = torch.cat([gold_tensor, teacher_logits], dim=1)
    encoded = encode_texts(tokenizer, [clean_text(t) for t in texts], teacher.max_length,
                           teacher.truncation)
    loss_fn = distillation_loss(teacher.task, n_out, config.temperature, config.alpha)
    fitted = fit(student, encoded.input_ids, targets, loss_fn,
                 recovery_settings(config, teacher.batch_size), pad_id(tokenizer))
    student.eval()
    info.update({"teacher": str(source.resolve()), "data": str(Path(config.data).resolve()),
                 "examples": len(texts), "temperature": config.temperature,
                 "alpha": config.alpha, "seed": config.seed, "epochs": fitted.epochs_run,
                 "seconds": fitted.seconds, "history": fitted.history})

    with atomic_run_dir(out, config.overwrite) as tmp:
        student.save_pretrained(str(tmp / "model"))
        tokenizer.save_pretrained(str(tmp / "model"))
        # the teacher's settings (task, max_length, columns, test split) describe the student too
        settings = read_config(source)
        settings["out"] = str(out)
        write_config(tmp, settings,
                     header=f"student distilled from {source} (see metrics.json 'distill')")
        # a layers:N student is the teacher's own model cut down (a SetFit teacher stays SetFit)
        write_manifest(tmp, teacher_kind if spec.kind == "layers" else TRANSFORMERS)
        loaded = load_run(tmp, complete=False)
        bench = config.bench()
        rows = [measure(teacher, "teacher", test, bench), measure(loaded, "student", test, bench)]
        notes = [f"Student {spec.text}: {info['parameters']:,} parameters "
                 f"({info['parameters'] / info['teacher_parameters']:.0%} of the teacher), trained "
                 f"{fitted.epochs_run} epoch(s) on {len(texts)} examples of {config.data} with "
                 f"temperature {config.temperature:g} and alpha {config.alpha:g}."]
        report = write_report(tmp, f"Distillation of {source.name}", rows, bench, notes)
        metrics: dict[str, Any] = {"test": rows[-1].test_metrics} if rows[-1].test_metrics else {}
        metrics.update({"distill": info, "comparison": comparison_json(rows, bench)})
        write_json(tmp / "metrics.json", metrics)
    log.info("wrote %s", out)
    return CompressResult(out=out, rows=rows, report=out / report.name, details=info)
