"""``lmforge runs list DIR`` and ``lmforge runs diff RUN RUN``: what was trained, and how
two runs' settings differ (``lmforge compare`` covers speed and size)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import RunDirError
from lmforge.rundir import MANIFEST_FILE, check_run_dir, read_config, read_json
from lmforge.tables import format_table

# the columns of `runs list --format json|csv` (RunSummary.as_row)
ROW_COLUMNS = ["run", "task", "model", "method", "test_accuracy", "test_macro_f1", "date",
               "lmforge_version", "path"]
IGNORED_IN_DIFF = ("out", "overwrite", "show_progress")  # differ between any two runs, say nothing


@dataclass
class RunSummary:
    path: Path
    name: str
    task: str
    model: str
    method: str
    accuracy: float | None
    macro_f1: float | None
    date: str
    config: dict[str, Any]
    version: str = ""  # the lmforge that made the run ("" for runs older than the record)

    def as_row(self) -> dict[str, Any]:
        """The columns of ``runs list --format json|csv``."""
        values = [self.name, self.task, self.model, self.method, self.accuracy, self.macro_f1,
                  self.date, self.version, str(self.path)]
        return dict(zip(ROW_COLUMNS, values, strict=True))


def read_run(path: Path, root: Path | None = None) -> RunSummary:
    check_run_dir(path)
    config = read_config(path)
    metrics = read_json(path / "metrics.json")
    test = metrics.get("test") or {}
    data = metrics.get("data") or {}
    method = (data.get("method") or {}).get("method") or (
        "tfidf" if str(config.get("model", "")).lower() == "tfidf" else "finetune")
    if data.get("augmentation"):
        method += f" + eda:{data['augmentation']['copies_per_text']}"
    ensemble = metrics.get("ensemble") or {}
    if ensemble.get("choice") == "blend":  # the test scores shown are the blend's
        method += f" + tfidf blend {ensemble['weight']:.2f}"
    elif ensemble.get("choice") == "baseline":
        method += " -> tfidf"
    date, version = run_date(path)
    return RunSummary(path=path, name=str(path.relative_to(root)) if root else str(path),
                      task=str(config.get("task", "")), model=str(config.get("model", "")),
                      method=method, accuracy=test.get("accuracy"), macro_f1=test.get("macro_f1"),
                      date=date, config=config, version=version)


def run_date(path: Path) -> tuple[str, str]:
    """When the run was made and by which lmforge, from ``run.json`` (UTC, as recorded);
    a run older than that record falls back to ``metrics.json``'s file time, marked ``~``
    (a copy shows the copy's time)."""
    manifest = read_json(path / MANIFEST_FILE) if (path / MANIFEST_FILE).is_file() else {}
    created = manifest.get("created")
    if created:
        try:
            stamp = dt.datetime.fromisoformat(str(created))
        except ValueError:
            stamp = None
        if stamp is not None:
            return stamp.strftime("%Y-%m-%d %H:%M"), str(manifest.get("lmforge_version", ""))
    mtime = dt.datetime.fromtimestamp((path / "metrics.json").stat().st_mtime, dt.UTC)
    return "~" + mtime.strftime("%Y-%m-%d %H:%M"), str(manifest.get("lmforge_version", ""))


def find_runs(root: str | Path) -> list[RunSummary]:
    """Run directories under ``root`` (itself included), oldest first; hidden temp dirs skipped."""
    base = Path(root)
    if not base.is_dir():
        raise RunDirError(f"'{base}' is not a directory. Pass the folder holding your run "
                          "directories (e.g. runs/).")
    found = []
    for config in sorted(base.rglob("config.yaml")):
        run = config.parent
        if any(part.startswith(".") for part in run.relative_to(base).parts):
            continue  # a run being written (.NAME.tmp-*) or an old one being replaced
        if (run / "metrics.json").is_file() and (run / "model").exists():
            found.append(read_run(run, base))
    return sorted(found, key=lambda r: (r.date.lstrip("~"), r.name))


def config_differences(configs: list[dict[str, Any]]) -> list[str]:
    keys = sorted({k for c in configs for k in c} - set(IGNORED_IN_DIFF))
    return [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str)
                                    for c in configs}) > 1]


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def list_table(runs: list[RunSummary]) -> str:
    if not runs:
        return "no run directories found"
    rows = [[r.name, r.task, r.model, r.method, _score(r.accuracy), _score(r.macro_f1), r.date,
             r.version or "-"] for r in runs]
    text = format_table(["run", "task", "model", "method", "test acc", "test macro-F1",
                         "date (UTC)", "lmforge"], rows)
    differ = config_differences([r.config for r in runs])
    if len(runs) > 1:
        text += ("\n\nsettings that differ between these runs: " + (", ".join(differ) or "none")
                 + "\n(`lmforge runs diff RUN RUN` shows the values)")
    return text


def diff_table(a: RunSummary, b: RunSummary) -> str:
    differ = config_differences([a.config, b.config])
    rows = [["* " + k, json.dumps(a.config.get(k), default=str), json.dumps(b.config.get(k),
                                                                             default=str)]
            for k in differ]
    rows += [["test accuracy", _score(a.accuracy), _score(b.accuracy)],
             ["test macro-F1", _score(a.macro_f1), _score(b.macro_f1)],
             ["method", a.method, b.method]]
    text = format_table(["setting", a.name, b.name], rows)
    note = "(* marks the settings that differ)" if differ else "same settings (apart from out)"
    return text + "\n\n" + note
