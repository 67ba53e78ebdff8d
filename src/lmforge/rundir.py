"""The run directory's files: written atomically, read back with clear errors.

A run is built in a hidden sibling temp dir and renamed into place at the end,
so a crash or Ctrl-C never leaves a half-written RUN_DIR behind. ``config.yaml``
is read and written here only (``read_config`` / ``write_config``), so every
command reports a damaged one the same way. This module sits at the bottom of the
layers (beside ``config`` and ``data``): it knows files, not models.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmforge.errors import RunDirError

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"  # for people: results, warnings, mistakes (eval.report)
CARD_FILE = "README.md"  # the model card, Hugging Face form
RUN_FILES = ("model", CONFIG_FILE, METRICS_FILE)
MANIFEST_FILE = "run.json"
MANIFEST_FORMAT = 1
# the kinds of run (``lmforge.runs.kinds`` tells them apart and loads each)
TRANSFORMERS, SETFIT, TFIDF, ONNX, ENSEMBLE = "transformers", "setfit", "tfidf", "onnx", "ensemble"
TOKENS = "tokens"  # token classification (--task tokens): PyTorch or ONNX, told by model/model.onnx
RUN_KINDS = (TRANSFORMERS, SETFIT, TFIDF, ONNX, ENSEMBLE, TOKENS)
# what a run being written needs before it can be loaded (export/prune/distill measure
# the model they saved before they write metrics.json)
LOADABLE_FILES = ("model", CONFIG_FILE)


def refuse_existing(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise RunDirError(
            f"run directory '{out}' already exists. Choose another --out, or pass --overwrite "
            "to replace it."
        )


@contextlib.contextmanager
def atomic_run_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temp dir; on success it replaces ``out``, on any failure it is removed."""
    refuse_existing(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:  # KeyboardInterrupt included: leave nothing half-written
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    refuse_existing(out, overwrite)  # someone may have created it meanwhile
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, trash / out.name)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[Any]:
    """A text file to write ``path`` through (UTF-8, newlines as written): renamed into place
    when the block ends, removed if it fails, so ``path`` is never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            yield handle
    except BaseException:  # KeyboardInterrupt included
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def check_run_dir(run_dir: str | os.PathLike[str],
                  required: tuple[str, ...] = RUN_FILES) -> Path:
    """``run_dir`` as a Path, or a ``RunDirError`` naming what is missing."""
    path = Path(run_dir)
    if not path.exists():
        raise RunDirError(
            f"run directory '{path}' does not exist. Pass the --out directory of a finished "
            "`lmforge train`."
        )
    missing = [name for name in required if not (path / name).exists()]
    if missing:
        raise RunDirError(
            f"'{path}' is not an lmforge run directory: {', '.join(missing)} missing. Pass the "
            "--out directory of a finished `lmforge train` (a training that was interrupted "
            "leaves no run directory)."
        )
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc}); the run directory is damaged.") from exc


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's ``config.yaml`` as a mapping (empty file: ``{}``)."""
    import yaml

    path = Path(run_dir) / CONFIG_FILE
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise RunDirError(f"cannot read '{path}': {exc}. Pass the --out directory of a finished "
                          "`lmforge train`.") from exc
    except yaml.YAMLError as exc:
        raise RunDirError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(settings, dict):
        raise RunDirError(f"{path}: expected a mapping of key: value")
    return settings


def write_config(run_dir: Path, settings: dict[str, Any], header: str | None = None) -> None:
    """``config.yaml`` with the settings in their given order; ``header`` becomes a comment
    line on top (e.g. how to re-run it)."""
    import yaml

    text = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)
    write_text_atomic(run_dir / CONFIG_FILE, (f"# {header}\n" if header else "") + text)


def write_manifest(run_dir: Path, kind: str, model: str | None = None) -> None:
    """``RUN/run.json``: the kind of run (``RUN_KINDS``), written by every writer of a run;
    an ensemble's ``model`` names what its ``model/`` holds (default: transformers)."""
    if kind not in RUN_KINDS or model is not None and (kind != ENSEMBLE or model not in RUN_KINDS):
        raise ValueError(f"not a kind of run: {kind!r} (model {model!r}); one of "
                         f"{', '.join(RUN_KINDS)}")
    import datetime as dt

    from lmforge.version import __version__

    manifest: dict[str, Any] = {"kind": kind, "format": MANIFEST_FORMAT}
    if kind == ENSEMBLE:
        manifest["model"] = model or TRANSFORMERS
    # when and by which lmforge the run was made: `runs list` dates a run by this, not by
    # file times (a copy has the copy's); rewriting the manifest (an ensemble) keeps both
    previous = _read_manifest_quietly(run_dir / MANIFEST_FILE)
    manifest["created"] = previous.get("created") or dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds")
    manifest["lmforge_version"] = previous.get("lmforge_version") or __version__
    write_json(run_dir / MANIFEST_FILE, manifest)


def _read_manifest_quietly(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


# --- resumable runs ---------------------------------------------------------------------
# A run that can be resumed is built in OUT.partial/ (not a hidden temp dir): a crash or a
# kill leaves its last checkpoint there, and `--resume` continues it. It has no run.json
# and holds RESUME_FILE, so no command mistakes it for a finished run; it is renamed to OUT
# only when the run is complete.
PARTIAL_SUFFIX = ".partial"
RESUME_FILE = "resume.json"
RESUMABLE_STATE = "checkpoints/resume.pt"  # written by the training loops
# settings that do not change the result: free to differ on --resume
NOT_RESULT_SETTINGS = frozenset({"out", "overwrite", "resume", "show_progress", "num_threads",
                                 "log_to", "keep_checkpoints", "checkpoint_every"})


def partial_dir(out: Path) -> Path:
    """Where the unfinished run of ``out`` is built: ``OUT.partial`` beside it."""
    return out.with_name(out.name + PARTIAL_SUFFIX)


def check_resumable(out: Path, overwrite: bool, resume: bool, settings: dict[str, Any]) -> None:
    """Refuse early what ``resumable_run_dir`` would refuse: a finished ``out`` (without
    --overwrite), --resume with nothing to resume or changed settings, a partial run
    neither resumed nor overwritten."""
    refuse_existing(out, overwrite)
    partial = partial_dir(out)
    stamp = partial / RESUME_FILE
    settings = json.loads(json.dumps(settings))  # as read back: tuples become lists
    if resume:
        require_partial(out)
        before = read_json(stamp).get("settings", {})
        changed = [name for name in sorted(set(before) | set(settings))
                   if name not in NOT_RESULT_SETTINGS and before.get(name) != settings.get(name)]
        if changed:
            raise RunDirError(
                f"cannot resume '{partial}': changed setting{'s' if len(changed) > 1 else ''} "
                + "; ".join(f"{name} was {before.get(name)!r}, now {settings.get(name)!r}"
                            for name in changed)
                + ". They change the result: resume with the settings of the interrupted run "
                f"(its {CONFIG_FILE} is in '{partial}'), or drop --resume and pass --overwrite "
                "to start over.")
    elif partial.exists() and not overwrite:
        raise RunDirError(f"'{partial}' holds an unfinished run of --out {out}. Pass --resume to "
                          "continue it, or --overwrite to discard it and start over.")


def require_partial(out: Path) -> None:
    """--resume needs an unfinished run of ``out``: checked before any work is done."""
    partial = partial_dir(out)
    if not (partial / RESUME_FILE).exists():
        raise RunDirError(f"nothing to resume: '{partial}' does not exist (or is not an "
                          "unfinished lmforge run). Run the same command without --resume "
                          "to start.")


@contextlib.contextmanager
def resumable_run_dir(out: Path, overwrite: bool, resume: bool, settings: dict[str, Any],
                      main: bool = True) -> Iterator[Path]:
    """Like ``atomic_run_dir`` but built in ``OUT.partial``, kept after a failure when it
    holds a checkpoint to resume from. ``settings`` (the resolved config) are recorded, and
    on ``resume`` compared: a changed result-affecting setting is refused, naming it.
    ``main=False`` (the other processes of a data-parallel run) yields a scratch dir that is
    thrown away: one process writes the run."""
    if not main:
        scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.worker-"))
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    check_resumable(out, overwrite, resume, settings)
    partial = partial_dir(out)
    if not resume:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        write_config(partial, settings, "the settings of this unfinished run; "
                     "lmforge train/pretrain --resume continues it")
        write_json(partial / RESUME_FILE, {"out": str(out), "settings": settings,
                                           "note": "an unfinished run: not a run directory"})
    try:
        yield partial
    except BaseException:
        if not (partial / RESUMABLE_STATE).exists():
            shutil.rmtree(partial, ignore_errors=True)  # nothing to resume: leave nothing
        raise
    (partial / RESUME_FILE).unlink()
    (partial / RESUMABLE_STATE).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (partial / RESUMABLE_STATE).parent.rmdir()  # only when empty (--keep-checkpoints)
    refuse_existing(out, overwrite)
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, trash / out.name)
        os.replace(partial, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(partial, out)
