"""--freeze-embeddings: the word-embedding matrix stays as loaded; auto only for big vocabularies."""

from pathlib import Path

import pytest

from tests.helpers import train_run


def word_embeddings(model_dir: Path):
    from safetensors.torch import load_file

    weights = load_file(str(model_dir / "model.safetensors"))
    (key,) = [k for k in weights if k.endswith("word_embeddings.weight")]
    return weights[key]


@pytest.mark.parametrize("setting", ["yes", "auto"])
def test_frozen_or_not_word_embeddings(tmp_path: Path, tiny_model_dir: Path, setting: str) -> None:
    import json

    import torch

    run = train_run(tmp_path, tiny_model_dir, freeze_embeddings=setting, epochs=1, lr=1e-3)
    before, after = word_embeddings(tiny_model_dir), word_embeddings(run / "model")
    frozen = json.loads((run / "metrics.json").read_text())["train"]["frozen_embedding_weights"]
    if setting == "yes":
        assert frozen == before.numel()
        assert torch.equal(before, after)
    else:  # a 30k-piece vocabulary is below auto's threshold: trained as before
        assert frozen == 0
        assert not torch.equal(before, after)


def test_auto_freezes_a_large_vocabulary() -> None:
    from transformers import BertConfig, BertModel

    from lmforge.training.optim import build_optimizer, freeze_word_embeddings

    big = BertModel(BertConfig(vocab_size=120_000, hidden_size=16, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=32))
    assert freeze_word_embeddings(big, "auto") == 120_000 * 16
    trained = {id(p) for group in build_optimizer(big, 1e-3, 0.01).param_groups for p in group["params"]}
    assert id(big.get_input_embeddings().weight) not in trained
    assert freeze_word_embeddings(big, "no") == 0


def test_freeze_layers_keeps_the_bottom_layer_and_embeddings(tmp_path: Path,
                                                             tiny_model_dir: Path) -> None:
    import json

    import torch
    from safetensors.torch import load_file

    run = train_run(tmp_path, tiny_model_dir, freeze_layers=1, epochs=1, lr=1e-3)
    def fixed(key: str) -> bool:
        return ".embeddings." in f".{key}" or ".layer.0." in key

    before = load_file(str(tiny_model_dir / "model.safetensors"))
    after = load_file(str(run / "model" / "model.safetensors"))
    for key, weight in before.items():
        if key.startswith("cls.") or key not in after:
            continue  # the pre-training heads are not part of the classifier
        assert torch.equal(weight, after[key]) == fixed(key), key
    train = json.loads((run / "metrics.json").read_text())["train"]
    assert train["frozen_layers"] == 1
    assert train["frozen_weights"] == sum(w.numel() for k, w in after.items() if fixed(k))
    assert train["trained_weights"] == sum(w.numel() for w in after.values()) - train[
        "frozen_weights"]


def test_freeze_layers_refuses_all_layers(tmp_path: Path, tiny_model_dir: Path) -> None:
    from lmforge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"freeze_layers: the encoder has 2 layers, so at most 1"):
        train_run(tmp_path, tiny_model_dir, freeze_layers=2)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="freeze_layers: must be >= 0"):
        train_run(tmp_path, tiny_model_dir, freeze_layers=-1)


def test_freeze_layers_names_a_model_without_known_layers() -> None:
    import torch

    from lmforge.errors import ConfigError
    from lmforge.training.optim import freeze_bottom_layers

    class Odd(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base_model = torch.nn.Linear(2, 2)

    with pytest.raises(ConfigError, match="freeze_layers: cannot find the transformer layers "
                                          "of this Odd; use --freeze-layers 0"):
        freeze_bottom_layers(Odd(), 1)


@pytest.mark.parametrize("flags", [{"freeze_layers": 2}, {"freeze_embeddings": "yes"}])
def test_freezing_is_refused_where_nothing_is_fine_tuned(tmp_path: Path, flags: dict) -> None:
    """TF-IDF has no encoder to freeze: an error naming the flag, not a flag silently ignored."""
    import lmforge
    from lmforge.errors import ConfigError
    from tests.conftest import sentiment_rows, write_csv

    data = write_csv(tmp_path / "reviews.csv", sentiment_rows(60))
    name = next(iter(flags))
    with pytest.raises(ConfigError, match=rf"{name}: only fine-tuning freezes encoder weights; "
                                          r"this run is tfidf\. Drop --" + name.replace("_", "-")):
        lmforge.train(data=str(data), out=str(tmp_path / "run"), model="tfidf",
                      show_progress=False, **flags)
    assert not (tmp_path / "run").exists()
