"""Continued masked-LM pre-training of a large-vocabulary model: the head predicts over the
corpus's pieces only (--output-vocabulary) and the word embeddings can stay fixed
(--freeze-embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.errors import ConfigError
from lmforge.pretrain.run import pretrain
from tests.pretrain.conftest import FAST


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory, english_corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("mlm-base") / "run"
    pretrain(objective="mlm", corpus=[str(english_corpus)], from_scratch="bert-tiny",
             out=str(out), max_steps=10, **FAST)
    return out


def _masked_lm(vocab_size: int = 50, output_ids: list[int] | None = None):  # noqa: ANN202
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from lmforge.pretrain.objectives import MaskedLM
    from lmforge.pretrain.sequences import Sequences

    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=32)).eval()
    rows = [[2, 10, 11, 12, 13, 14, 3], [2, 15, 10, 16, 3], [2, 17, 18, 11, 19, 12, 20, 3]]
    seqs = Sequences(rows)
    objective = MaskedLM(seqs, seqs, pad_id=0, mask_id=4, special_ids=[0, 1, 2, 3, 4],
                         vocab_size=vocab_size, probability=0.5, seed=0, output_ids=output_ids)
    return model, objective, seqs


def test_the_corpus_softmax_is_the_full_one_restricted_to_the_corpus_pieces() -> None:
    import torch
    import torch.nn.functional as F

    from lmforge.pretrain.objectives import corpus_vocabulary

    model, _, seqs = _masked_lm()
    ids = corpus_vocabulary(seqs)
    assert ids.tolist() == [2, 3, *range(10, 21)]
    _, restricted, _ = _masked_lm(output_ids=ids.tolist())
    batch = next(restricted.heldout_batches(8))
    with torch.no_grad():
        loss, stats = restricted.loss(model, batch)
        # the same loss by hand: full logits, every column outside the corpus pieces dropped
        labels = batch["labels"]
        selected = labels != -100
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        full = model(**inputs).logits[selected]
        keep = torch.full((full.shape[1],), float("-inf"))
        keep[torch.as_tensor(ids)] = 0.0
        expected = F.cross_entropy(full + keep, labels[selected])
        unrestricted = F.cross_entropy(full, labels[selected])
    assert stats["lm_tokens"] == float(selected.sum()) > 0
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() < unrestricted.item()  # the 37 other pieces no longer take probability


def test_corpus_vocabulary_reads_memory_mapped_shards(tmp_path: Path) -> None:
    from lmforge.pretrain import shards
    from lmforge.pretrain.objectives import corpus_vocabulary
    from lmforge.pretrain.sequences import Sequences

    shards.start(tmp_path)
    shards.write_sequences(tmp_path, "train", (([2, 9, 7, 3], None), ([2, 7, 40, 3], None)))
    shard = Sequences(shards.TokenShard(tmp_path, "train"))  # type: ignore[arg-type]
    assert corpus_vocabulary(shard, Sequences([[2, 5, 3]])).tolist() == [2, 3, 5, 7, 9, 40]


def test_continued_pretraining_with_frozen_embeddings_and_the_corpus_vocabulary(
        base_run: Path, english_corpus: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    result = pretrain(objective="mlm", corpus=[str(english_corpus)], model=str(base_run / "model"),
                      out=str(tmp_path / "more"), max_steps=6, freeze_embeddings="yes",
                      output_vocabulary="corpus", **FAST)
    out = result.metrics["output_vocabulary"]
    assert out["setting"] == "corpus" and out["of"] == 120 and 10 < out["pieces"] < 120
    assert result.metrics["frozen_embedding_weights"] == 120 * 64  # bert-tiny: 64 hidden
    assert result.metrics["trained_parameters"] < result.metrics["parameters"]
    report = (tmp_path / "more" / "report.md").read_text(encoding="utf-8")
    assert f"predicted over the {out['pieces']:,} pieces found in the corpus, of 120" in report
    before = load_file(str(base_run / "model" / "model.safetensors"))
    after = load_file(str(tmp_path / "more" / "model" / "model.safetensors"))
    key = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(before[key], after[key])  # frozen
    layer = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(before[layer], after[layer])  # trained
    assert result.metrics["heldout"]["loss"] < result.metrics["initial_heldout"]["loss"]


def test_auto_keeps_the_full_vocabulary_of_a_small_model(base_run: Path, english_corpus: Path,
                                                         tmp_path: Path) -> None:
    result = pretrain(objective="mlm", corpus=[str(english_corpus)], model=str(base_run / "model"),
                      out=str(tmp_path / "more"), max_steps=2, **FAST)
    assert result.metrics["output_vocabulary"] == {
        "setting": "auto", "pieces": 120, "of": 120, "scope": "every piece"}
    assert result.metrics["frozen_embedding_weights"] == 0  # 120 pieces: auto trains them


def test_corpus_vocabulary_needs_a_bert_layout_head(base_run: Path, english_corpus: Path,
                                                    tmp_path: Path) -> None:
    from transformers import AutoTokenizer, RobertaConfig, RobertaForMaskedLM

    tokenizer = AutoTokenizer.from_pretrained(str(base_run / "model"))
    model = RobertaForMaskedLM(RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id))
    model.save_pretrained(str(tmp_path / "roberta"))
    tokenizer.save_pretrained(str(tmp_path / "roberta"))
    with pytest.raises(ConfigError, match="output_vocabulary: 'corpus' needs a BERT-layout"):
        pretrain(objective="mlm", corpus=[str(english_corpus)], model=str(tmp_path / "roberta"),
                 out=str(tmp_path / "out"), max_steps=1, output_vocabulary="corpus", **FAST)
    assert not (tmp_path / "out").exists()
    # the metrics.json of a written run carries the record
    result = pretrain(objective="mlm", corpus=[str(english_corpus)],
                      model=str(tmp_path / "roberta"), out=str(tmp_path / "ok"), max_steps=1,
                      **FAST)
    saved = json.loads((tmp_path / "ok" / "metrics.json").read_text(encoding="utf-8"))
    assert saved["output_vocabulary"]["pieces"] == result.metrics["output_vocabulary"]["of"]
