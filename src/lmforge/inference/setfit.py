"""SetFit backend: the saved model of ``lmforge train --method setfit`` (a tuned sentence
encoder, mean pooling, optional L2 normalisation and a linear head), loadable as a torch
module with the forward signature every PyTorch classifier has. It predicts through the
PyTorch ``Classifier`` (``lmforge.inference.torch``); the training recipe is
``lmforge.training.setfit``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmforge.errors import ModelError

CONFIG_FILE = "setfit.json"
HEAD_FILE = "setfit_head.safetensors"


def setfit_module() -> Any:
    """The ``SetFitModel`` class (defined on first use: it subclasses ``torch.nn.Module``)."""
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class SetFitModel(torch.nn.Module):
        """encoder -> mean pooling -> (L2 normalise) -> linear head."""

        def __init__(self, encoder: Any, n_out: int, normalize: bool) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_out)
            self.normalize = normalize
            self.config = encoder.config

        def embed(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

        def get_input_embeddings(self) -> Any:  # what `lmforge explain` attributes to
            return self.encoder.get_input_embeddings()

        def forward(self, input_ids: Any, attention_mask: Any, **_: Any) -> Any:
            return SequenceClassifierOutput(logits=self.head(self.embed(input_ids, attention_mask)))

        def save_pretrained(self, path: str) -> None:
            from safetensors.torch import save_file

            out = Path(path)
            self.encoder.save_pretrained(str(out))
            save_file({k: v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()},
                      str(out / HEAD_FILE))
            (out / CONFIG_FILE).write_text(json.dumps(
                {"method": "setfit", "pooling": "mean", "normalize": self.normalize,
                 "head": "logistic regression (as a linear layer)"}, indent=2) + "\n",
                encoding="utf-8")

    return SetFitModel


def is_setfit_dir(model_dir: Path) -> bool:
    return (model_dir / CONFIG_FILE).is_file() and (model_dir / HEAD_FILE).is_file()


def load_setfit_model(model_dir: Path) -> Any:
    from safetensors.torch import load_file

    from lmforge.models.registry import offline_env

    offline_env()
    from transformers import AutoModel

    try:
        settings = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        encoder = AutoModel.from_pretrained(str(model_dir))
        head = load_file(str(model_dir / HEAD_FILE))
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ModelError(f"cannot load the SetFit model in '{model_dir}': {exc}") from exc
    model = setfit_module()(encoder, int(head["weight"].shape[0]), bool(settings.get("normalize")))
    model.head.load_state_dict(head)
    model.eval()
    return model
