"""A tiny E5S1 file (random 2-layer BERT, Q4_0) with its Unigram tokenizer, and its conversion."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

# a few XLM-R-like pieces: enough for short English and Chinese texts
PIECES = ["▁", "▁a", "a", "b", "c", "e", "t", "s", "▁the", "▁cat", "▁sat", "▁我", "我", "很",
          "喜欢", "这个", "手机", "▁手机", "非常", "这部"]


def tiny_vocab() -> list[tuple[str, float]]:
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    return specials + [(p, -2.0 - 0.25 * i) for i, p in enumerate(PIECES)] + [("<mask>", 0.0)]


def write_unigram_tokenizer(path: Path, vocab: list[tuple[str, float]]) -> Path:
    """An XLM-R-shaped fast tokenizer (Unigram, Metaspace, <s> A </s>) with these pieces."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens([AddedToken(t, special=True) for t in
                            ("<s>", "<pad>", "</s>", "<unk>", "<mask>")])
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_e5(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Files: ``bin`` (E5S1), ``tokenizer`` (tokenizer.json); ``state`` the original weights,
    ``stored`` what the file holds (dequantized), ``config``; ``out`` the converted directory."""
    import torch
    from transformers import BertConfig, BertModel

    from lmforge.models.convert_e5 import convert_e5
    from tests.models.e5_writer import write_e5_file

    tmp = tmp_path_factory.mktemp("tiny-e5")
    vocab = tiny_vocab()
    tokenizer = write_unigram_tokenizer(tmp / "tokenizer.json", vocab)
    config = BertConfig(vocab_size=len(vocab) + 3, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, max_position_embeddings=32,
                        type_vocab_size=2, layer_norm_eps=1e-12)
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():  # the default init leaves biases 0 and LayerNorms 1/0: too easy
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.1)
            elif "LayerNorm" in name:
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.2)
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()
             if not k.endswith("position_ids")}
    stored = write_e5_file(tmp / "tiny.bin", state, config, vocab)
    out = tmp / "converted"
    out.mkdir()
    summary = convert_e5(tmp / "tiny.bin", tokenizer, out)
    return SimpleNamespace(bin=tmp / "tiny.bin", tokenizer=tokenizer, state=state, stored=stored,
                           config=config, out=out, summary=summary, tmp=tmp)
