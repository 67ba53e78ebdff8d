"""Make a trained run small and fast: ONNX export (fp32 / int8), structured pruning,
distillation, and before/after reports that say what each step cost.

Entry points (each writes a new run directory with report.md + report.png):
``export_run(ExportConfig)``, ``prune_run(PruneConfig)``, ``distill_run(DistillConfig)``;
``compare_runs(run_dirs)`` measures existing runs; ``load_run(run_dir)`` loads any run
(its home is ``lmforge.runs.load``). Heavy libraries load only when these are called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["export_run", "prune_run", "distill_run", "compare_runs", "load_run"]

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.compress.compare import compare_runs
    from lmforge.compress.distill import distill_run
    from lmforge.compress.export import export_run
    from lmforge.compress.prune import prune_run
    from lmforge.runs.load import load_run

# load_run's home is lmforge.runs.load; it stays here too, as the public name it was
_HOMES = {"export_run": "lmforge.compress.export", "prune_run": "lmforge.compress.prune",
          "distill_run": "lmforge.compress.distill", "compare_runs": "lmforge.compress.compare",
          "load_run": "lmforge.runs.load"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lmforge.compress' has no attribute {name!r}")
