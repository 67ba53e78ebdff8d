"""HTTP service under load: dynamic batching vs one text per forward pass, PyTorch and
int8 ONNX side by side, one run.

    .venv/bin/python bench/serve_load.py [--run-dir RUN] [--tiny] [--requests 3000]
                                         [--clients 64] [--threads 2]
                                         [--backends pytorch onnx-int8]

Each backend serves the same model: ``pytorch`` the run as it is, ``onnx-int8`` the run
exported by ``lmforge export --int8`` (fused graph, dynamic int8) in a temp dir; the
batched and unbatched phases run for each, the overflow phase for the first.

Starts `python -m lmforge.serve` on 127.0.0.1 (a free port; loopback only) three
times and sends the same bounded load each time: --clients concurrent keep-alive
connections, --requests short requests in all (one Rotten Tomatoes review each),
then the server is stopped with SIGTERM. The load stops by itself (also after
--max-seconds per phase).

  batched     --max-batch-size 32 --max-wait-ms 5     (the default)
  unbatched   --max-batch-size 1                      (the baseline)
  overflow    --max-batch-size 1 --max-queue-texts 16 (more clients than the queue
              holds: extra requests get 503 + Retry-After; RSS must stay bounded)

Prints requests/s, p50/p99 latency of successful requests, status counts, the
server's peak RSS (VmHWM), the mean texts per forward pass (server's /metrics), the load
generator's own CPU per request and the 1-minute load average when the phase started
(another job on the cores skews the ratio: rerun when it is high), and the
batched/unbatched throughput ratio.
Default model: the default all-MiniLM-L6-v2 encoder with a random 2-class head (speed
does not depend on the head's weights); --tiny uses a random 2-layer BERT instead.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "lmforge" / "recipes" / "data" / "rotten_tomatoes_test.csv"


def build_run(root: Path, tiny: bool) -> Path:
    """A run directory like `lmforge train` writes, without the training."""
    import torch
    import yaml
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

    from lmforge.models.registry import resolve_model_dir

    base = resolve_model_dir("default")
    run = root / ("tiny-run" if tiny else "minilm-run")
    labels = {0: "fresh", 1: "rotten"}
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    torch.manual_seed(0)
    if tiny:
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=64, num_labels=2,
                            id2label=labels, label2id={v: k for k, v in labels.items()})
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base), num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()})
    model.save_pretrained(str(run / "model"))
    tokenizer.save_pretrained(str(run / "model"))
    settings = {"task": "single", "max_length": 128, "truncation": "head+tail",
                "eval_batch_size": 64, "text_col": "text", "label_col": "label"}
    (run / "config.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (run / "metrics.json").write_text("{}", encoding="utf-8")
    return run


def export_int8(run: Path, root: Path, threads: int) -> Path:
    """The run exported as ``lmforge export RUN --int8`` does it (fused graph, dynamic int8)."""
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run

    out = root / f"{run.name}-onnx-int8"
    export_run(ExportConfig(run_dir=str(run), out=str(out), int8=True, threads=threads,
                            latency_runs=3, throughput_texts=64))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Phase:
    name: str
    flags: list[str]
    backend: str = "pytorch"
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    client_cpu_s: float = 0.0  # this process's CPU time during the load
    mean_batch: float = 0.0  # texts per forward pass, from the server's /metrics
    load_before: float = 0.0  # 1-minute load average when the phase started


def post_request(path: str, body: bytes) -> bytes:
    """The whole HTTP/1.1 request, encoded once up front."""
    return (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body))


async def http_post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    """One keep-alive HTTP/1.1 POST; returns the status. A tiny client: the load generator
    shares the 2 cores with the server, so it must cost little (it runs in this process, the
    server in its own; its CPU per request is printed)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])  # b"HTTP/1.1 200 OK"
    at = head.lower().index(b"\r\ncontent-length:") + 17
    await reader.readexactly(int(head[at:head.index(b"\r\n", at)]))
    return status


async def load(port: int, texts: list[str], phase: Phase, clients: int, requests: int,
               max_seconds: float) -> None:
    bodies = [post_request("/v1/predict", json.dumps({"texts": [t]}).encode()) for t in texts]
    sent = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + max_seconds

    async def client() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < requests and time.perf_counter() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                t0 = time.perf_counter()
                status = await http_post(reader, writer, body)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
                if status == 200:
                    phase.latencies.append(time.perf_counter() - t0)
                if status == 503:  # the server closes nothing; back off a little as told
                    await asyncio.sleep(0.01)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    phase.client_cpu_s = time.process_time() - cpu_started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_phase(run: Path, phase: Phase, texts: list[str], args: argparse.Namespace) -> None:
    import urllib.request

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "lmforge.serve", str(run), "--port", str(port),
           "--threads", str(args.threads), *phase.flags]
    log = tempfile.TemporaryFile()  # not a pipe: an unread pipe fills up and blocks the server
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise SystemExit(f"server exited: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server not ready after 120 s")
            time.sleep(0.2)
        phase.load_before = os.getloadavg()[0]
        asyncio.run(load(port, texts, phase, args.clients, args.requests, args.max_seconds))
        phase.peak_rss_mb = peak_rss_mb(server.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            phase.mean_batch = mean_batch_size(r.read().decode())
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def mean_batch_size(metrics_text: str) -> float:
    values = {}
    for line in metrics_text.splitlines():
        name = line.split("{")[0]
        if name in ("lmforge_batch_size_sum", "lmforge_batch_size_count"):
            values[name] = float(line.split()[-1])
    count = values.get("lmforge_batch_size_count", 0.0)
    return values.get("lmforge_batch_size_sum", 0.0) / count if count else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", help="serve this run directory (default: build one)")
    parser.add_argument("--tiny", action="store_true", help="build a random 2-layer BERT run")
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase")
    parser.add_argument("--clients", type=int, default=64, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="server's torch threads")
    parser.add_argument("--max-seconds", type=float, default=180, help="cap per phase")
    parser.add_argument("--backends", nargs="+", default=["pytorch", "onnx-int8"],
                        choices=["pytorch", "onnx-int8"], help="backends to serve, in turn")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]

    with open(DATA, encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run_dir) if args.run_dir else build_run(Path(tmp), args.tiny)
        runs = {"pytorch": run}
        if "onnx-int8" in args.backends:
            runs["onnx-int8"] = export_int8(run, Path(tmp), args.threads)
        for i, backend in enumerate(args.backends):
            phases += [
                Phase("batched", ["--max-batch-size", "32", "--max-wait-ms", "5"], backend),
                Phase("unbatched", ["--max-batch-size", "1"], backend),
            ]
            if i == 0:
                phases.append(Phase("overflow", ["--max-batch-size", "1", "--max-queue-texts",
                                                 "16", "--max-texts-per-request", "16"], backend))
        for phase in phases:
            run_phase(runs[phase.backend], phase, texts, args)

    model = args.run_dir or ("random 2-layer BERT" if args.tiny
                             else "all-MiniLM-L6-v2, random head")
    print(f"lmforge serve on 127.0.0.1: {model}; {args.clients} clients, {args.requests} "
          f"requests of 1 text per phase, server threads {args.threads}, {os.cpu_count()} CPUs")
    print(f"{'backend':<10} {'phase':<10} {'flags':<72} {'req/s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'200':>6} {'503':>6} {'other':>6} {'peak RSS MB':>12} {'batch':>6} "
          f"{'client ms/req':>13} {'load':>5}")
    for p in phases:
        ok = p.statuses.get(200, 0)
        busy = p.statuses.get(503, 0)
        other = sum(p.statuses.values()) - ok - busy
        print(f"{p.backend:<10} {p.name:<10} {' '.join(p.flags):<72} {ok / p.seconds:>8.1f} "
              f"{1000 * percentile(p.latencies, 50):>8.1f} {1000 * percentile(p.latencies, 99):>8.1f} "
              f"{ok:>6} {busy:>6} {other:>6} {p.peak_rss_mb:>12.0f} {p.mean_batch:>6.1f} "
              f"{1000 * p.client_cpu_s / max(1, sum(p.statuses.values())):>13.3f} "
              f"{p.load_before:>5.2f}")

    def rate(backend: str, name: str) -> float:
        phase = next(p for p in phases if p.backend == backend and p.name == name)
        return phase.statuses.get(200, 0) / phase.seconds

    for backend in args.backends:
        ratio = rate(backend, "batched") / rate(backend, "unbatched")
        print(f"{backend}: throughput ratio batched / unbatched: {ratio:.2f}x (target >= 2x)")
    if len(args.backends) == 2:
        print(f"batched throughput onnx-int8 / pytorch: "
              f"{rate('onnx-int8', 'batched') / rate('pytorch', 'batched'):.2f}x "
              "(target > 1x)")
    first = [p for p in phases if p.backend == args.backends[0]]
    rss_growth = first[2].peak_rss_mb / first[1].peak_rss_mb
    print(f"peak RSS overflow / unbatched: {rss_growth:.2f}x (bounded queue: 503s instead of "
          "growth)")
    print(f"load average (1 min) at the start: {load_start:.2f}, at the end: "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
