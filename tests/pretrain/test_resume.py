"""``pretrain`` killed mid-epoch and resumed ends where an uninterrupted run ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import kill_at_first_checkpoint
from tests.pretrain.conftest import FAST_FLAGS, run_cli
from tests.training.test_resume import lmforge, max_abs_diff, without_timing


def test_pretrain_killed_mid_epoch_resumes_to_the_same_weights(
        english_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from lmforge.pretrain.run import train_tokenizer_dir

    # a tokenizer trained beforehand: HF tokenizers' training breaks ties differently from
    # run to run, so two uninterrupted runs that each train one differ (a resumed run
    # reloads the one its start saved)
    tokenizer = train_tokenizer_dir(corpus=[str(english_corpus)], vocab_size=120,
                                    out=str(tmp_path / "tok")).out
    # 294 training lines in batches of 16: 19 steps an epoch, so 24 steps cross an epoch end
    run = ["pretrain", "mlm", "--corpus", str(english_corpus), "--from-scratch", "bert-tiny",
           "--tokenizer", str(tokenizer), "--max-steps", "24", "--eval-every", "10",
           "--threads", "1", *FAST_FLAGS]
    killed = tmp_path / "killed"
    proc = lmforge([*run, "--out", str(killed), "--checkpoint-every", "1"])
    state_file = tmp_path / "killed.partial" / "checkpoints" / "resume.pt"
    kill_at_first_checkpoint(proc, state_file)
    state = torch.load(state_file, weights_only=False)
    assert state["epoch"] == 1 and not state["epoch_done"] and 0 < state["batch"] < 19

    assert run_cli([*run, "--out", str(killed), "--resume", "--mlm-probability", "0.2"]) == 2
    assert "mlm_probability was 0.15, now 0.2" in capsys.readouterr().err
    assert run_cli(["-q", *run, "--out", str(killed), "--resume"]) == 0
    reference = tmp_path / "reference"
    assert run_cli(["-q", *run, "--out", str(reference)]) == 0
    assert max_abs_diff(killed, reference) <= 1e-6
    metrics = [json.loads((r / "metrics.json").read_text()) for r in (killed, reference)]
    assert without_timing(metrics[0]) == without_timing(metrics[1])
    assert not (tmp_path / "killed.partial").exists()
