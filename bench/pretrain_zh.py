"""Does pre-training pay? Chinese review sentiment, three ways, one run.

    .venv/bin/python bench/pretrain_zh.py [--data-dir ../shared/data] [--pretrain-steps 2500]
        [--finetune-epochs 3] [--threads 1] [--quick]

Data: ``sentiment_zh_reviews.csv`` (17,363 hotel/laptop/book reviews, neg/pos),
split once by this script, 80/20 stratified by label with seed 0 (per label,
shuffled with one random.Random(0), 20% to test: `lmforge train`'s own
algorithm; its cleaning drops 3 rows first, so its internal split of the raw
file is not identical), and the same split serves all three methods.

(a) bert-mini (4 layers, 256 hidden) pre-trained from scratch by
    `lmforge pretrain mlm` on the People's Daily 1998 corpus plus the review
    texts of the TRAIN part only (no test text is seen in pre-training), then
    fine-tuned by `lmforge.train`. The WordPiece tokenizer (Chinese per
    character) is trained on the same corpus by `lmforge tokenizer train`;
(b) the same architecture and tokenizer from random weights, fine-tuned the
    same way (same lr, epochs, early stopping on the same validation carve-out);
(c) TF-IDF over character 1-3-grams + logistic regression (scikit-learn), C
    chosen by 3-fold cross-validation on the train part.

(b) and (c) run in a second single-threaded process while (a) pre-trains
(--no-parallel to run everything in sequence).

The target of the sentiment-zh recipe: (a) beats (c) by >= 2 points of
accuracy, and (a) beats (b). Prints a markdown table; writes it and a JSON
copy under --work.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
log = logging.getLogger("bench.pretrain_zh")


def read_reviews(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return [(row["text"], row["label"]) for row in csv.DictReader(stream)]


def split_stratified(rows: list[tuple[str, str]], test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Per label (in sorted order), shuffle with one shared Random(seed), 20% to test."""
    rng = random.Random(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (_, label) in enumerate(rows):
        groups[label].append(i)
    train, test = [], []
    for _, idx in sorted(groups.items()):
        idx = idx[:]
        rng.shuffle(idx)
        n_test = max(1, round(len(idx) * test_fraction))
        test += idx[:n_test]
        train += idx[n_test:]
    return [rows[i] for i in sorted(train)], [rows[i] for i in sorted(test)]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": accuracy_score(truth, predicted),
            "macro_f1": f1_score(truth, predicted, average="macro")}


def tfidf_baseline(train: list[tuple[str, str]], test: list[tuple[str, str]],
                   threads: int) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipe = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
                         LogisticRegression(max_iter=2000))
    search = GridSearchCV(pipe, {"logisticregression__C": [1.0, 3.0, 10.0, 30.0]}, cv=3,
                          n_jobs=threads, scoring="accuracy")
    search.fit([t for t, _ in train], [y for _, y in train])
    predicted = list(search.predict([t for t, _ in test]))
    out = scores([y for _, y in test], predicted)
    out["seconds"] = time.perf_counter() - start
    out["C"] = search.best_params_["logisticregression__C"]
    return out


def random_init_model(tokenizer_dir: Path, out: Path, max_length: int, seed: int) -> Path:
    """bert-mini as `lmforge pretrain --from-scratch bert-mini` builds it, with the same
    tokenizer, saved before any training."""
    import torch

    from lmforge.pretrain.scratch import build_scratch_model, scratch_spec
    from lmforge.pretrain.tokenizer import load_tokenizer_dir

    tokenizer = load_tokenizer_dir(tokenizer_dir)
    torch.manual_seed(seed)
    build_scratch_model(scratch_spec("bert-mini"), tokenizer, max_length).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def fine_tune(model_dir: Path, train_csv: Path, test_csv: Path, out: Path,
              args: argparse.Namespace) -> dict[str, float]:
    import lmforge

    start = time.perf_counter()
    result = lmforge.train(
        data=str(train_csv), test=str(test_csv), model=str(model_dir), out=str(out),
        epochs=args.finetune_epochs, lr=args.finetune_lr, batch_size=args.batch_size,
        max_length=args.max_length, seed=0, num_threads=args.threads, overwrite=True,
        max_train_samples=args.train_samples, show_progress=args.progress)
    test = result.metrics["test"]
    return {"accuracy": test["accuracy"], "macro_f1": test["macro_f1"],
            "seconds": time.perf_counter() - start,
            "epochs": result.metrics["train"].get("epochs"),
            "best_epoch": result.metrics["train"].get("best_epoch")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench_pretrain_zh",
                        help="working directory (git-ignored runs/ by default)")
    parser.add_argument("--corpus-lines", type=int, default=None,
                        help="use only the first N lines of the People's Daily corpus")
    parser.add_argument("--pretrain-steps", type=int, default=2500)
    parser.add_argument("--pretrain-lr", type=float, default=5e-4,
                        help="5e-4 left the plateau steadily; 1e-3 over a 2,500-step schedule stayed on it")
    parser.add_argument("--pretrain-max-length", type=int, default=128)
    parser.add_argument("--packing", action=argparse.BooleanOptionalAction, default=False,
                        help="pack lines into full sequences in pre-training (default: one "
                        "line per sequence, which left the unigram plateau sooner here)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--finetune-lr", type=float, default=2e-4)
    parser.add_argument("--train-samples", type=int, default=None,
                        help="fine-tune on a stratified subset of this many reviews")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on a busy 2-core machine)")
    parser.add_argument("--reuse-pretrained", action="store_true",
                        help="skip pre-training when WORK/pretrained exists (same tokenizer!)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["a", "b", "c"])
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=True,
                        help="run (b) and (c) in a second process while (a) pre-trains")
    parser.add_argument("--results-json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2,000 corpus lines, 30 steps, 1 epoch on 1,000 reviews")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.quick:
        args.corpus_lines, args.pretrain_steps = 2000, 30
        args.finetune_epochs, args.train_samples = 1, 1000
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("lmforge").setLevel(logging.INFO)
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    torch.set_num_threads(args.threads)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)

    rows = read_reviews(args.data_dir / "sentiment_zh_reviews.csv")
    train, test = split_stratified(rows)
    train_csv, test_csv = write_csv(work / "train.csv", train), write_csv(work / "test.csv", test)
    # pre-training text: the reviews of the train part only, one per line
    reviews_txt = work / "reviews_train.txt"
    reviews_txt.write_text("\n".join(" ".join(t.split()) for t, _ in train) + "\n", encoding="utf-8")
    corpus = args.data_dir / "corpus_zh_peoples_daily_1998.txt"
    if args.corpus_lines:
        lines = corpus.read_text(encoding="utf-8").splitlines()[: args.corpus_lines]
        corpus = work / "peoples_daily_subset.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("split: %d train, %d test reviews", len(train), len(test))

    # One tokenizer for (a) and (b), trained on the pre-training corpus, so that
    # (b) can start while (a) pre-trains.
    tokenizer_dir = work / "tokenizer"
    if args.results_json is None:  # (the (b)/(c) process uses its parent's)
        from lmforge.pretrain.run import train_tokenizer_dir

        train_tokenizer_dir(corpus=[str(corpus), str(reviews_txt)], kind="wordpiece",
                            vocab_size=args.vocab_size, out=str(tokenizer_dir), overwrite=True)

    parts = [p for p in ("c", "b", "a") if p not in args.skip]
    child = None
    if args.parallel and "a" in parts and len(parts) > 1:
        # (b) and (c) in a second single-threaded process while (a) pre-trains
        child_args = [sys.executable, __file__, "--data-dir", str(args.data_dir), "--work", str(work),
                      "--batch-size", str(args.batch_size), "--max-length", str(args.max_length),
                      "--finetune-epochs", str(args.finetune_epochs), "--finetune-lr",
                      str(args.finetune_lr), "--threads", str(args.threads), "--no-parallel",
                      "--vocab-size", str(args.vocab_size), "--results-json",
                      str(work / "results_bc.json"), "--skip", "a", *args.skip]
        if args.corpus_lines:
            child_args += ["--corpus-lines", str(args.corpus_lines)]
        if args.train_samples:
            child_args += ["--train-samples", str(args.train_samples)]
        child_log = open(work / "parallel_bc.log", "w", encoding="utf-8")  # noqa: SIM115
        child = subprocess.Popen(child_args, stdout=child_log, stderr=subprocess.STDOUT)
        log.info("(b) and (c) run in process %d (log: %s)", child.pid, child_log.name)
        parts = ["a"]

    results: dict[str, dict] = {}
    if "c" in parts:
        results["c"] = tfidf_baseline(train, test, args.threads)
        log.info("(c) TF-IDF + LR: %s", results["c"])
    if "b" in parts:
        random_dir = random_init_model(tokenizer_dir, work / "random_init", args.max_length, seed=0)
        results["b"] = fine_tune(random_dir, train_csv, test_csv, work / "finetuned_b", args)
        log.info("(b) random init + fine-tuned: %s", results["b"])

    pretrained = work / "pretrained"
    pretrain_metrics = None
    if "a" in parts:
        if not (args.reuse_pretrained and (pretrained / "model" / "config.json").is_file()):
            from lmforge.pretrain import pretrain

            run = pretrain(
                objective="mlm", from_scratch="bert-mini", tokenizer=str(tokenizer_dir),
                corpus=[str(corpus), str(reviews_txt)], out=str(pretrained), overwrite=True,
                max_steps=args.pretrain_steps, lr=args.pretrain_lr, batch_size=args.batch_size,
                max_length=args.pretrain_max_length, packing=args.packing, seed=0,
                num_threads=args.threads, eval_every=max(1, args.pretrain_steps // 5),
                show_progress=args.progress)
            pretrain_metrics = run.metrics
        else:
            pretrain_metrics = json.loads((pretrained / "metrics.json").read_text(encoding="utf-8"))
        log.info("pre-training: held-out perplexity %.2f, %.0f tokens/s, %.0f s",
                 pretrain_metrics["heldout"]["perplexity"],
                 pretrain_metrics["train"]["tokens_per_second"], pretrain_metrics["train"]["seconds"])
        results["a"] = fine_tune(pretrained / "model", train_csv, test_csv, work / "finetuned_a", args)
        log.info("(a) pre-trained + fine-tuned: %s", results["a"])

    if child is not None:
        if child.wait() != 0:
            log.error("the (b)/(c) process failed; see %s", work / "parallel_bc.log")
        elif (work / "results_bc.json").is_file():
            results.update(json.loads((work / "results_bc.json").read_text())["results"])
    if args.results_json:
        args.results_json.write_text(json.dumps({"results": results}, indent=2) + "\n")
        return 0

    names = {"a": "(a) bert-mini, pre-trained (MLM) then fine-tuned",
             "b": "(b) bert-mini, random init, fine-tuned",
             "c": "(c) TF-IDF char 1-3-grams + logistic regression"}
    table = ["| method | test accuracy | test macro-F1 | seconds |", "|---|---|---|---|"]
    for key in ("a", "b", "c"):
        if key in results:
            r = results[key]
            table.append(f"| {names[key]} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
                         f"{r['seconds']:.0f} |")
    lines = table[:]
    if pretrain_metrics is not None:
        t = pretrain_metrics["train"]
        lines.append("")
        lines.append(f"pre-training: {t['steps']} steps ({t['epochs']:.2f} epochs) of "
                     f"{args.batch_size} sequences of <= {args.pretrain_max_length} tokens "
                     f"({'packed' if args.packing else 'one line each'}) on "
                     f"{pretrain_metrics['corpus']['train_lines']:,} lines, {t['seconds']:.0f} s, "
                     f"{t['tokens_per_second']:,.0f} tokens/s; held-out MLM perplexity "
                     f"{pretrain_metrics['initial_heldout']['perplexity']:.1f} -> "
                     f"{pretrain_metrics['heldout']['perplexity']:.2f}")
    if "a" in results and "c" in results:
        gap = 100 * (results["a"]["accuracy"] - results["c"]["accuracy"])
        lines.append(f"(a) - (c): {gap:+.2f} points (target >= +2.00): "
                     f"{'met' if gap >= 2 else 'NOT met'}")
    if "a" in results and "b" in results:
        gap = 100 * (results["a"]["accuracy"] - results["b"]["accuracy"])
        lines.append(f"(a) - (b): {gap:+.2f} points (target > 0): {'met' if gap > 0 else 'NOT met'}")
    lines.append(f"wall time: {time.perf_counter() - started:.0f} s")
    text = "\n".join(lines)
    sys.stdout.write(text + "\n")
    (work / "results.md").write_text(text + "\n", encoding="utf-8")
    (work / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                   "results": results}, indent=2) + "\n",
                                       encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
