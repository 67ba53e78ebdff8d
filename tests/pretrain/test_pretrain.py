"""Whole recipes on tiny models: the loss goes down, the run directory loads with
plain transformers, `lmforge train` fine-tunes on top, and bad input is refused
with a message that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforge.errors import ConfigError, DataError
from lmforge.pretrain.run import pretrain
from tests.pretrain.conftest import FAST, FAST_FLAGS, run_cli, write_lines


def _train_losses(metrics: dict) -> list[float]:
    return [h["train_loss"] for h in metrics["history"] if "train_loss" in h]


@pytest.fixture(scope="module")
def mlm_run(tmp_path_factory: pytest.TempPathFactory, english_corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("mlm") / "run"
    pretrain(objective="mlm", corpus=[str(english_corpus)], from_scratch="bert-tiny",
             out=str(out), max_steps=40, eval_every=20, **FAST)
    return out


def test_mlm_loss_goes_down_and_reports_are_written(mlm_run: Path) -> None:
    metrics = json.loads((mlm_run / "metrics.json").read_text(encoding="utf-8"))
    losses = _train_losses(metrics)
    assert losses[-1] < losses[0] - 1.0
    assert metrics["heldout"]["perplexity"] < metrics["initial_heldout"]["perplexity"] / 2
    assert metrics["train"]["steps"] == 40 and metrics["train"]["tokens_per_second"] > 0
    assert metrics["corpus"]["heldout_lines"] == 6  # 2% of 300 lines
    for name in ("config.yaml", "loss_curve.png", "report.md", "model/config.json",
                 "model/model.safetensors", "model/tokenizer.json"):
        assert (mlm_run / name).is_file(), name
    assert (mlm_run / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(mlm_run.parent.glob(".run.tmp-*"))  # the temp dir was renamed into place


def test_mlm_run_loads_with_plain_transformers(mlm_run: Path) -> None:
    import torch
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(mlm_run / "model"))
    mlm = AutoModelForMaskedLM.from_pretrained(str(mlm_run / "model"))
    batch = tok([f"the cat sees {tok.mask_token} river ."], return_tensors="pt")
    with torch.no_grad():
        logits = mlm(**batch).logits
    position = batch["input_ids"][0].tolist().index(tok.mask_token_id)
    assert tok.convert_ids_to_tokens(int(logits[0, position].argmax())) == "the"
    clf = AutoModelForSequenceClassification.from_pretrained(str(mlm_run / "model"), num_labels=2)
    assert torch.equal(clf.bert.embeddings.word_embeddings.weight,
                       mlm.bert.embeddings.word_embeddings.weight)


def test_lmforge_train_fine_tunes_the_pretrained_model(mlm_run: Path, tmp_path: Path) -> None:
    import lmforge
    from tests.conftest import write_csv
    from tests.pretrain.conftest import english_lines

    rows = [(line, "animal" if line.split()[1] in ("cat", "dog", "bird") else "person")
            for line in english_lines(120, seed=1)]
    data = write_csv(tmp_path / "d.csv", rows)
    result = lmforge.train(data=str(data), model=str(mlm_run / "model"), out=str(tmp_path / "ft"),
                           epochs=1, batch_size=16, max_length=32, show_progress=False)
    assert (tmp_path / "ft" / "model" / "config.json").is_file()
    assert "accuracy" in result.metrics["test"]


def test_config_yaml_records_the_resolved_run(mlm_run: Path) -> None:
    import yaml

    config = yaml.safe_load((mlm_run / "config.yaml").read_text(encoding="utf-8"))
    assert config["objective"] == "mlm" and config["from_scratch"] == "bert-tiny"
    assert config["tokenizer_kind"] == "wordpiece" and config["lr"] == 3e-3
    assert Path(config["corpus"][0]).is_absolute()


def test_nsp_saves_both_heads_and_the_pooler_fine_tuning_uses(english_corpus: Path,
                                                               tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, BertForPreTraining

    result = pretrain(objective="mlm", nsp=True, whole_word_mask=True,
                      corpus=[str(english_corpus)], from_scratch="bert-tiny",
                      out=str(tmp_path / "nsp"), max_steps=10, **FAST)
    weights = load_file(str(tmp_path / "nsp" / "model" / "model.safetensors"))
    assert "cls.seq_relationship.weight" in weights and "bert.pooler.dense.weight" in weights
    assert any(k.startswith("cls.predictions.") for k in weights)
    assert result.metrics["objective"] == "mlm+nsp"
    assert 0 <= result.metrics["heldout"]["nsp_accuracy"] <= 1
    assert isinstance(BertForPreTraining.from_pretrained(str(tmp_path / "nsp" / "model")),
                      BertForPreTraining)
    mlm = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "nsp" / "model"))
    assert torch.equal(mlm.cls.predictions.transform.dense.weight,
                       weights["cls.predictions.transform.dense.weight"])
    clf = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "nsp" / "model"),
                                                             num_labels=2)
    assert torch.equal(clf.bert.pooler.dense.weight, weights["bert.pooler.dense.weight"])


def test_clm_packs_without_padding_and_loss_goes_down(english_corpus: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    result = pretrain(objective="clm", corpus=[str(english_corpus)], from_scratch="gpt-tiny",
                      out=str(tmp_path / "clm"), max_steps=30, **{**FAST, "vocab_size": 300})
    losses = _train_losses(result.metrics)
    assert losses[-1] < losses[0] - 1.0
    assert result.metrics["heldout"]["perplexity"] < result.metrics["initial_heldout"]["perplexity"]
    # packed: every training sequence is exactly max_length real tokens
    assert result.metrics["train"]["tokens"] % 32 == 0
    model_dir = str(tmp_path / "clm" / "model")
    tok = AutoTokenizer.from_pretrained(model_dir)
    lm = AutoModelForCausalLM.from_pretrained(model_dir)
    out = lm.generate(**tok(["the cat"], return_tensors="pt"), max_new_tokens=3, do_sample=False,
                      pad_token_id=tok.pad_token_id)
    assert out.shape[1] == len(tok("the cat")["input_ids"]) + 3
    clf = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    batch = tok(["the cat sees the hill .", "a bird"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert clf(**batch).logits.shape == (2, 2)  # batches > 1 work: pad id is in the config


def test_continued_pretraining_from_a_run(mlm_run: Path, english_corpus: Path,
                                          tmp_path: Path) -> None:
    result = pretrain(objective="mlm", corpus=[str(english_corpus)], model=str(mlm_run / "model"),
                      out=str(tmp_path / "more"), max_steps=5, **FAST)
    assert "continued pre-training" in result.metrics["model"]
    # it starts where the first run ended, not from scratch
    first = json.loads((mlm_run / "metrics.json").read_text(encoding="utf-8"))
    assert result.metrics["initial_heldout"]["loss"] < first["initial_heldout"]["loss"] - 1.0


def test_from_scratch_with_a_tokenizer_trained_beforehand(english_corpus: Path,
                                                          tmp_path: Path) -> None:
    from lmforge.pretrain.run import train_tokenizer_dir

    tok = train_tokenizer_dir(corpus=[str(english_corpus)], vocab_size=150, out=str(tmp_path / "t"))
    result = pretrain(corpus=[str(english_corpus)], from_scratch="bert-tiny", tokenizer=str(tok.out),
                      out=str(tmp_path / "run"), max_steps=3, **{**FAST, "vocab_size": 8000})
    assert result.metrics["tokenizer"]["vocab_size"] == tok.report["vocab_size"]
    assert result.metrics["tokenizer"]["source"] == str(tok.out.resolve())
    with pytest.raises(ConfigError, match="tokenizer: only for --from-scratch; with --model the "
                       "model's own tokenizer is used"):
        pretrain(corpus=[str(english_corpus)], model=str(tmp_path / "run" / "model"),
                 tokenizer=str(tok.out), out=str(tmp_path / "x"))


def test_cli_pretrain_prints_the_report(english_corpus: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    code = run_cli(["-q", "pretrain", "mlm", "--corpus", str(english_corpus), "--from-scratch",
                    "bert-tiny", "--out", str(out), "--max-steps", "3", *FAST_FLAGS])
    printed = capsys.readouterr().out
    assert code == 0
    assert "# Pre-training (mlm)" in printed and "tokens/s" in printed
    assert f"fine-tune it with: lmforge train --model {out / 'model'}" in printed
    # the run's config.yaml re-runs it
    again = tmp_path / "again"
    assert run_cli(["-q", "pretrain", "mlm", "--config", str(out / "config.yaml"),
                    "--out", str(again)]) == 0
    assert (again / "model" / "config.json").is_file()


@pytest.mark.parametrize("command", [["tokenizer", "train"], ["tokenizer", "coverage"],
                                     ["pretrain", "mlm"], ["pretrain", "clm"]])
def test_help_renders(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_cli([*command, "--help"])
    assert exit_.value.code == 0 and "usage: lmforge" in capsys.readouterr().out


# --- bad input -------------------------------------------------------------------------------


def test_unknown_from_scratch_name_lists_the_valid_ones(english_corpus: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["pretrain", "mlm", "--corpus", str(english_corpus), "--from-scratch",
                    "bert-huge", "--out", str(tmp_path / "x")])
    assert code == 2
    assert capsys.readouterr().err == (
        "error: invalid pretrain mlm config: from_scratch: unknown config 'bert-huge'. Valid names: "
        "bert-mini, bert-tiny, gpt-mini, gpt-tiny.\n")


def test_config_problems_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        pretrain(objective="clm", corpus=["x.txt"], from_scratch="bert-mini", nsp=True,
                 out=str(tmp_path / "x"), max_length=4)
    message = str(err.value)
    assert message.startswith("invalid pretrain clm config: ")
    assert ("from_scratch: 'bert-mini' is a BERT config, which does not fit `pretrain clm`. Use "
            "one of: gpt-mini, gpt-tiny.") in message
    assert "nsp: only for `pretrain mlm`" in message
    assert "max_length: must be between 8 and 8192, got 4" in message
    with pytest.raises(ConfigError, match="pass --model DIR to continue pre-training a model, or "
                       "--from-scratch NAME for a new one"):
        pretrain(corpus=["x.txt"], out=str(tmp_path / "x"))


def test_empty_and_missing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = write_lines(tmp_path / "empty.txt", [""])
    with pytest.raises(DataError, match=r"the corpus is empty: .*empty\.txt contains no text"):
        pretrain(corpus=[str(empty)], from_scratch="bert-tiny", out=str(tmp_path / "x"))
    code = run_cli(["pretrain", "clm", "--corpus", str(tmp_path / "missing.txt"),
                    "--from-scratch", "gpt-tiny", "--out", str(tmp_path / "x")])
    assert code == 2
    assert capsys.readouterr().err.startswith(
        f"error: corpus file not found: {tmp_path / 'missing.txt'}. Check the path")
    assert not (tmp_path / "x").exists()


def test_corpus_smaller_than_one_sequence(tmp_path: Path) -> None:
    small = write_lines(tmp_path / "small.txt", ["the cat sees the hill ."] * 3)
    with pytest.raises(DataError, match=r"less than one sequence of --max-length 512\. Add text or "
                       "lower --max-length"):
        pretrain(objective="clm", corpus=[str(small)], from_scratch="gpt-tiny",
                 out=str(tmp_path / "x"), **{**FAST, "vocab_size": 300, "max_length": 512})
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.tmp-*"))


def test_nsp_needs_documents_of_two_lines(tmp_path: Path) -> None:
    one_line_docs = tmp_path / "docs.txt"
    one_line_docs.write_text("the cat sees the hill .\n\nthe dog sees the river .\n\n" * 30,
                             encoding="utf-8")
    with pytest.raises(DataError, match="next-sentence prediction needs documents of at least two "
                       "lines; every document of the corpus has one"):
        pretrain(corpus=[str(one_line_docs)], from_scratch="bert-tiny", nsp=True,
                 out=str(tmp_path / "x"), **FAST)


def test_existing_run_dir_is_refused_before_work(mlm_run: Path, english_corpus: Path) -> None:
    from lmforge.errors import RunDirError

    with pytest.raises(RunDirError, match="already exists"):
        pretrain(corpus=[str(english_corpus)], from_scratch="bert-tiny", out=str(mlm_run))
