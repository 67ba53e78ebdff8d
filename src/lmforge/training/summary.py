"""``DataSummary``: what ``lmforge train`` learned about its data, metrics.json's ``data``.

Filled in stage by stage (preparation, tokenization, class weights, the pre-training
checks) as typed fields instead of a dict that several packages write into;
``as_dict`` gives metrics.json's ``data`` object with today's keys in today's order,
so run directories keep their format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# Keys metrics.json has only when the stage that fills them ran (tokenization, for
# example, not for --model tfidf); every other key is always written, null or not.
OPTIONAL = frozenset({"model", "method", "augmentation", "max_length", "truncation",
                      "over_max_length", "windows", "mostly_unknown_tokens", "class_counts"})


@dataclass
class DataSummary:
    # preparation (training.prepare)
    source: str
    encoding: str
    columns: str  # how the columns were chosen
    task: str  # how the task was chosen
    cleaning: dict[str, int]
    splits: dict[str, int]  # examples per split (and train_after_augmentation)
    split_from: str
    leakage: dict[str, int]  # shared texts per pair of splits (data.split.find_leakage)
    model: dict[str, Any] | None = None  # the base model, its licence and why it was chosen
    method: dict[str, str] | None = None  # {"method", "reason"}: finetune or setfit, and why
    augmentation: dict[str, Any] | None = None
    # tokenization (training.steps.encode_parts)
    max_length: int | None = None
    truncation: str | None = None
    over_max_length: dict[str, int] | None = None
    windows: dict[str, Any] | None = None
    mostly_unknown_tokens: dict[str, Any] | None = None
    # training (training.steps)
    class_weights: dict[str, float] | None = None
    class_counts: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """metrics.json's ``data``: optional stages' keys only when they ran."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in OPTIONAL:
                continue
            out[f.name] = value
        return out
