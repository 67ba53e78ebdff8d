"""PNG figures: valid files, written atomically, growing with the class count."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from lmforge.eval.plots import save_confusion_matrix_png, save_curves_png, tick_names

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_png(path: Path) -> None:
    assert path.exists()
    assert path.stat().st_size > 1024
    png_size(path)
    # nothing left over from the atomic write
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def matrix(k: int) -> list[list[int]]:
    return [[(20 if i == j else (i + 2 * j) % 4) for j in range(k)] for i in range(k)]


@pytest.fixture(scope="module")
def twenty_class_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = [f"customer support ticket about topic number {i:02d}" for i in range(20)]
    path = tmp_path_factory.mktemp("cm") / "confusion_matrix.png"
    save_confusion_matrix_png(matrix(20), labels, path, title="Confusion matrix (test)")
    return path


def test_confusion_matrix_png(tmp_path: Path):
    path = tmp_path / "confusion_matrix.png"
    returned = save_confusion_matrix_png([[5, 1, 0], [2, 7, 1], [0, 0, 4]],
                                         ["negative", "neutral", "positive"], path)
    assert returned == path
    assert_png(path)


def test_figure_grows_with_classes(tmp_path: Path, twenty_class_png: Path):
    small = tmp_path / "small.png"
    save_confusion_matrix_png(matrix(3), ["a", "b", "c"], small)
    assert_png(twenty_class_png)
    small_w, small_h = png_size(small)
    big_w, big_h = png_size(twenty_class_png)
    assert big_w > 2 * small_w and big_h > 2 * small_h


def test_confusion_matrix_empty_row_and_existing_file_replaced(tmp_path: Path):
    path = tmp_path / "cm.png"
    path.write_bytes(b"old")
    save_confusion_matrix_png([[0, 0], [3, 4]], ["never seen", "seen"], path)  # row of zeros
    assert_png(path)


def test_confusion_matrix_shape_must_match_labels(tmp_path: Path):
    with pytest.raises(ValueError, match=r"matrix is \(2, 2\), expected \(3, 3\) for 3 labels"):
        save_confusion_matrix_png([[1, 0], [0, 1]], ["a", "b", "c"], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_failed_render_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from matplotlib.figure import Figure

    path = tmp_path / "cm.png"
    path.write_bytes(b"previous")

    def broken(self, fname, **kwargs):
        Path(fname).write_bytes(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        save_confusion_matrix_png([[1]], ["a"], path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["cm.png"]


def test_tick_names_shorten_in_the_middle_and_stay_distinct():
    long_a = "customer support ticket about billing problems"
    long_b = "customer support ticket about refund problems"
    names = tick_names(["short", long_a, long_b])
    assert names[0] == "short"
    assert all(len(n) <= 28 for n in names)
    assert "…" in names[1] and names[1].endswith("problems") and names[1] != names[2]
    # same head and tail: shortening alone would collide, so the names get numbers
    same = tick_names(["x" * 20 + "A" * 20 + "y" * 20, "x" * 20 + "B" * 20 + "y" * 20])
    assert same[0].startswith("0: ") and same[1].startswith("1: ")


def test_plots_leave_pyplot_alone(tmp_path: Path):
    # in a fresh process: another test (or library) may have imported pyplot in this one
    code = ("import sys; from pathlib import Path; "
            "from lmforge.eval.plots import save_confusion_matrix_png, save_curves_png; "
            f"out = Path({str(tmp_path)!r}); "
            "save_confusion_matrix_png([[1, 0], [0, 1]], ['a', 'b'], out / 'cm.png'); "
            "save_curves_png([{'epoch': 1, 'train_loss': 1.0}], out / 'curves.png'); "
            "assert 'matplotlib.pyplot' not in sys.modules")  # no global backend or figure registry
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "cm.png").stat().st_size > 0


HISTORY = [
    {"epoch": 1, "step": 10, "train_loss": 0.9, "validation_loss": 0.7,
     "validation_macro_f1": 0.6, "validation_accuracy": 0.65},
    {"epoch": 2, "step": 20, "train_loss": 0.5, "validation_loss": 0.55,
     "validation_macro_f1": 0.75, "validation_accuracy": 0.78},
    {"epoch": 3, "step": 30, "train_loss": 0.3, "validation_loss": 0.6,
     "validation_macro_f1": 0.74, "validation_accuracy": 0.77},
]


@pytest.mark.parametrize("history", [
    HISTORY,
    [{"epoch": 1, "step": 10, "train_loss": 0.9}],  # no validation split: one point
    [{"step": 50, "train_loss": 0.9, "validation_mse": 2.0},  # no epochs; regression
     {"step": 100, "train_loss": 0.5, "validation_mse": 1.5}],
    [{"train_loss": 0.9, "validation_macro_f1": None}, {"train_loss": 0.4}],  # gaps
], ids=["full", "train-only", "steps-regression", "gaps"])
def test_curves_png(tmp_path: Path, history: list[dict]):
    path = tmp_path / "training_curves.png"
    assert save_curves_png(history, path, title="Training") == path
    assert_png(path)


def test_curves_need_a_history(tmp_path: Path):
    with pytest.raises(ValueError, match="history is empty"):
        save_curves_png([], tmp_path / "curves.png")


def test_curve_panels_tell_the_truth() -> None:
    from lmforge.eval.plots import curve_panels

    steps = [1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.38, 0.35]
    history = [{"epoch": e, "step": 4 * e, "train_loss": sum(steps[4 * e - 4:4 * e]) / 4,
                "validation_loss": 0.5 / e, "validation_accuracy": 0.958 + 0.007 * e}
               for e in (1, 2, 3)]
    panels = curve_panels(history, steps)
    names = [s[0] for s in panels["loss"]["series"]]
    assert names == ["train loss (per step)", "train loss (epoch mean, mid-epoch)",
                     "validation loss"]
    per_step = panels["loss"]["series"][0]
    assert per_step[1] == list(range(1, 13)) and per_step[2] == steps
    assert panels["loss"]["series"][1][1] == [2.5, 6.5, 10.5]  # means drawn mid-epoch
    assert panels["loss"]["series"][2][1] == [4, 8, 12]  # validation: at the epoch's end
    # the scores on their own panel, over the whole [0, 1]: no 0.958-0.972 zoom
    assert panels["scores"]["ylim"] == (0.0, 1.0)
    assert [s[0] for s in panels["scores"]["series"]] == ["validation accuracy"]
    assert panels["loss"]["note"] is None and panels["epochs"] == 3


def test_one_epoch_is_said_not_drawn() -> None:
    from lmforge.eval.plots import curve_panels

    history = [{"epoch": 1, "step": 4, "train_loss": 0.8, "validation_loss": 0.6,
                "validation_accuracy": 0.965, "validation_macro_f1": 0.961}]
    panels = curve_panels(history, [1.0, 0.9, 0.7, 0.6])
    assert [s[0] for s in panels["loss"]["series"]] == ["train loss (per step)"]
    assert panels["scores"]["series"] == []
    assert panels["loss"]["note"] == ("1 epoch, no curve to draw: mean train loss 0.8000, "
                                      "validation loss 0.6000")
    assert panels["scores"]["note"] == ("1 epoch, no curve to draw: validation macro-F1 0.9610, "
                                        "validation accuracy 0.9650")
    regression = curve_panels([{"step": 5, "validation_mse": 2.0}, {"step": 10,
                                                                    "validation_mse": 1.5}])
    assert regression["scores"]["ylim"] == (0.0, pytest.approx(2.2))


def test_reliability_png(tmp_path: Path) -> None:
    from lmforge.eval.diagnostics import calibration
    from lmforge.eval.plots import save_reliability_png

    path = save_reliability_png(calibration([0.9, 0.6, 0.99, 0.3], [True, False, True, True]),
                                tmp_path / "reliability.png")
    assert_png(path)
