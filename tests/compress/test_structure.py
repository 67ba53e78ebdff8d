"""Removing heads and layers: exact equivalences, bookkeeping, save/load round trip."""

from __future__ import annotations

from pathlib import Path

import pytest


def tiny_model(layers: int = 2, heads: int = 4, hidden: int = 32):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=200, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=2 * hidden,
                        max_position_embeddings=64, num_labels=2)
    return BertForSequenceClassification(config).eval()


def batch():
    import torch

    ids = torch.randint(1, 200, (3, 11), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # padding must still be respected after pruning
    return {"input_ids": ids, "attention_mask": mask}


def logits_with_heads_zeroed(model, zeroed: dict[int, list[int]]):
    """Reference: the unpruned model with those heads' outputs multiplied by 0."""
    import torch

    from lmforge.models.structure import attention_outputs, head_size

    size = head_size(model)
    handles = []
    for layer, linear in attention_outputs(model):
        gate = torch.ones(model.config.num_attention_heads)
        gate[zeroed.get(layer, [])] = 0.0

        def hook(module, args, gate=gate):
            x = args[0]
            return ((x.view(*x.shape[:-1], gate.numel(), size) * gate[:, None]).view(x.shape),)

        handles.append(linear.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            return model(**batch()).logits
    finally:
        for h in handles:
            h.remove()


def test_removing_heads_equals_zeroing_them() -> None:
    import copy

    import torch

    from lmforge.models.structure import count_parameters, heads_per_layer, remove_heads

    model = tiny_model()
    expected = logits_with_heads_zeroed(model, {0: [1, 3], 1: [0]})
    pruned = copy.deepcopy(model)
    remove_heads(pruned, {0: [1, 3], 1: [0]})
    with torch.no_grad():
        got = pruned(**batch()).logits
    assert torch.allclose(got, expected, atol=1e-5)
    assert heads_per_layer(pruned) == [2, 3]
    assert pruned.config.pruned_heads == {"0": [1, 3], "1": [0]}
    # q, k, v lose 8 rows (+bias) per head, the output projection 8 columns per head
    per_head = 3 * (8 * 32 + 8) + 8 * 32
    assert count_parameters(model) - count_parameters(pruned) == 3 * per_head


def test_pruning_twice_uses_original_head_indices() -> None:
    import copy

    import torch

    from lmforge.models.structure import remaining_heads, remove_heads

    model = tiny_model()
    once = copy.deepcopy(model)
    remove_heads(once, {0: [1, 3]})
    twice = copy.deepcopy(model)
    remove_heads(twice, {0: [1]})
    remove_heads(twice, {0: [3, 1]})  # 1 is already gone: ignored
    with torch.no_grad():
        assert torch.allclose(once(**batch()).logits, twice(**batch()).logits, atol=1e-6)
    assert remaining_heads(twice) == [[0, 2], [0, 1, 2, 3]]


def test_a_layer_keeps_at_least_one_head() -> None:
    from lmforge.errors import ModelError
    from lmforge.models.structure import remove_heads

    with pytest.raises(ModelError, match="cannot remove every head of layer 0; keep at least one"):
        remove_heads(tiny_model(), {0: [0, 1, 2, 3]})


def test_head_pruned_model_round_trips_through_save(tmp_path: Path) -> None:
    import torch

    from lmforge.models.structure import load_sequence_classifier, remove_heads

    model = tiny_model()
    remove_heads(model, {1: [2]})
    model.save_pretrained(str(tmp_path))
    loaded = load_sequence_classifier(tmp_path)
    with torch.no_grad():
        assert torch.allclose(loaded(**batch()).logits, model(**batch()).logits, atol=1e-6)


def test_keep_layers_updates_config_and_pruned_heads() -> None:
    from lmforge.models.structure import encoder_layers, keep_layers, remove_heads

    model = tiny_model(layers=3)
    remove_heads(model, {2: [0]})
    keep_layers(model, [0, 2])
    assert len(encoder_layers(model)) == 2 and model.config.num_hidden_layers == 2
    assert model.config.pruned_heads == {"1": [0]}


def test_choose_heads_ranks_globally_and_keeps_one_per_layer() -> None:
    from lmforge.compress.prune import choose_heads, normalize_per_layer

    importance = normalize_per_layer([[0.1, 0.2, 0.9, 0.05], [0.01, 0.02, 0.03, 0.04]])
    index = [[0, 1, 2, 3], [0, 1, 2, 3]]
    chosen = choose_heads(importance, 0.5, index)
    assert sum(len(v) for v in chosen.values()) == 4
    assert all(len(v) < 4 for v in chosen.values())
    # after normalisation layer 1's heads are not all negligible: both layers lose heads
    assert set(chosen) == {0, 1}
    # an almost-total fraction is refused with the reason, not silently capped
    from lmforge.errors import ConfigError

    with pytest.raises(ConfigError, match="at most 6 can go"):
        choose_heads(importance, 0.9, index)
