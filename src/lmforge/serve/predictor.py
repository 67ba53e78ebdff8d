"""Loaded runs and the dynamic batcher. No HTTP in here: routes call ``ModelPool``.

Each served run has a ``Batcher``: requests put their texts on a bounded queue and
await a future. One asyncio task per model takes up to ``max_batch_size`` texts —
waiting at most ``max_wait_ms`` after the oldest one arrived for others to join —
and runs them in a worker thread, so the event loop keeps accepting requests (the
next batch gathers) meanwhile. The classifier sorts the batch by token length and
cuts it into forward passes where the padding saved is worth another pass
(``data.tokenize.sorted_batches``, the same plan offline ``predict`` and ``evaluate``
use); each caller gets its own results in the order it sent them. One worker
thread is shared by all models: on a CPU two forward passes at once only compete
for the same cores.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError
from lmforge.inference.long_texts import LongTexts, counting_long_texts
from lmforge.serve.config import ServeConfig
from lmforge.serve.errors import ModelFailure, NotFound, Unavailable
from lmforge.serve.metrics import ServeMetrics

log = logging.getLogger(__name__)

MAX_WAITING_EXPLANATIONS = 8  # requests computing or queued on the explain thread; more: 503
WARMUP_TEXTS = ["Warming up the model.", "A second, somewhat longer text to warm up padding."]


def model_inputs(settings: dict[str, Any]) -> tuple[list[str], bool]:
    """What one input of a run is (GET /v1/models ``inputs``, ``pair``): its text column(s)
    from config.yaml, and whether they are a sentence pair."""
    pair = settings.get("pair")
    columns = str(pair or settings.get("text_col") or "text").split(",")
    return [c.strip() for c in columns], bool(pair)


def request_texts(request: Any, classifier: Any) -> list[str]:
    """The inputs of a predict request (``texts``, ``pairs`` or ``rows``) as the strings the
    classifier reads (``data.pairs``), checked against what the run was trained on."""
    from lmforge.data.pairs import JOIN_MARK, PAIR_MARK, join_columns, join_pair
    from lmforge.inference.surface import check_inputs
    from lmforge.serve.errors import InvalidRequest

    inputs, pair = model_inputs(getattr(classifier, "settings", None) or {})
    if getattr(request, "pairs", None) is not None:
        if not pair:
            raise InvalidRequest("pairs: this model reads one text per input, not sentence "
                                 'pairs; send {"texts": ["some text"]}')
        return [join_pair(a, b) for a, b in request.pairs]
    if getattr(request, "rows", None) is not None:
        texts = []
        for i, row in enumerate(request.rows):
            missing = [name for name in inputs if name not in row]
            unknown = [name for name in row if name not in inputs]
            if missing or unknown:
                raise InvalidRequest(
                    f"rows[{i}]: each row needs exactly the model's inputs "
                    f"{', '.join(repr(n) for n in inputs)}" + (
                        f"; missing {', '.join(repr(n) for n in missing)}" if missing else "") + (
                        f"; unknown {', '.join(repr(n) for n in unknown)}" if unknown else ""))
            cells = [row[name] for name in inputs]
            if pair and not all(c.strip() for c in cells):
                empty = next(n for n, c in zip(inputs, cells, strict=True) if not c.strip())
                raise InvalidRequest(f"rows[{i}].{empty}: empty, but a sentence pair needs both "
                                     "texts")
            text = join_pair(*cells) if pair else join_columns(cells)
            if not text.strip():
                raise InvalidRequest(f"rows[{i}]: every column is empty; send at least one text")
            texts.append(text)
        return texts
    if not pair:  # one text each: the private-use marks that join pairs/columns are plain spaces here
        return [text.replace(PAIR_MARK, " ").replace(JOIN_MARK, " ") for text in request.texts]
    texts = list(request.texts)
    if pair:
        try:
            check_inputs(texts, True)
        except LmforgeError:
            raise InvalidRequest(
                f"texts: this model reads sentence pairs ({inputs[0]}, {inputs[1]}); send "
                '{"pairs": [["first text", "second text"]]}') from None
    return texts


def warmup_texts(classifier: Any) -> list[str]:
    """WARMUP_TEXTS as the run reads them (sentence pairs for a pair run)."""
    from lmforge.data.pairs import join_pair

    if model_inputs(getattr(classifier, "settings", None) or {})[1]:
        return [join_pair(a, b) for a, b in zip(WARMUP_TEXTS, WARMUP_TEXTS[::-1], strict=True)]
    return WARMUP_TEXTS


@dataclass
class ServedModel:
    """One run directory being served. ``classifier`` is set once loaded."""

    name: str
    run_dir: Path
    state: str = "loading"  # loading -> ready | failed
    classifier: Any = None
    failure: str | None = None
    example: dict[str, str] | None = None  # a short input like the training texts, per input
    long_texts_logged: bool = False

    def count_long_texts(self, counts: LongTexts, metrics: ServeMetrics) -> None:
        """Texts over max_length go to /metrics; the log says so once, not per request."""
        if counts.shortened:
            metrics.texts_truncated.labels(self.name).inc(counts.shortened)
        if counts.windowed:
            metrics.texts_windowed.labels(self.name).inc(counts.windowed)
        if (counts.shortened or counts.windowed) and not self.long_texts_logged:
            self.long_texts_logged = True
            how = ("read as windows (lmforge_texts_windowed_total)" if counts.windowed else
                   f"shortened, {self.classifier.truncation} (lmforge_texts_truncated_total)")
            log.info("model '%s': texts longer than %d tokens are %s; /metrics counts them, "
                     "this is logged only once", self.name, self.classifier.max_length, how)

    def load(self, batch_size: int) -> None:
        """Load the run and run one warm-up pass (the first pass is the slowest)."""
        from lmforge.runs.load import load_run
        from lmforge.serve.run_files import example_input

        started = time.perf_counter()
        self.classifier = load_run(self.run_dir, batch_size=batch_size)
        predict_texts(self.classifier, warmup_texts(self.classifier))
        settings = getattr(self.classifier, "settings", None) or {}
        self.example = example_input(self.run_dir, {"task": self.classifier.task, **settings},
                                     model_inputs(settings)[0])
        self.state = "ready"
        log.info("model '%s' ready (%s, %s, %d classes) in %.1f s", self.name, self.run_dir,
                 self.classifier.task, len(self.classifier.labels), time.perf_counter() - started)


def with_long_texts_counted(work: Callable[..., Any], *args: Any) -> tuple[Any, LongTexts]:
    """``work(*args)`` with texts over max_length counted instead of logged (runs in the
    worker thread: the count belongs to this call only)."""
    with counting_long_texts() as counts:
        return work(*args), counts


def predict_texts(classifier: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Forward passes for one batch -> one dict per text, shaped like ``protocol.Prediction``.
    The classifier sorts them by length and cuts them into passes
    (``data.tokenize.sorted_batches``), tokenizing once."""
    from lmforge.inference.surface import logits_to_outputs

    if classifier.task == "tokens":  # token classification: entities with offsets, tags
        return [{k: row[k] for k in ("entities", "tokens", "spans", "tags")}
                for row in classifier.predict(list(texts))]
    outputs = logits_to_outputs(classifier.task, classifier.logits(list(texts)))
    decoded = classifier.decode(outputs)
    if classifier.task == "regression":
        return [{"value": float(v)} for v in decoded]
    labels = classifier.labels
    results = []
    for row, label in zip(outputs, decoded, strict=True):
        scores = {name: float(p) for name, p in zip(labels, row, strict=True)}
        if classifier.task == "single":
            results.append({"label": label, "scores": scores})
        else:
            results.append({"labels": list(label), "scores": scores})
    return results


def explain_texts(classifier: Any, texts: Sequence[str], method: str | None,
                  word: int | None = None) -> list[dict[str, Any]]:
    """Word attributions -> one dict per explanation, shaped like ``protocol.WordExplanation``
    (``protocol.TokenExplanation`` for a token run: each entity, or the word ``word``).
    ``method`` None: what ``lmforge explain`` picks (ig for PyTorch runs, occlusion for ONNX,
    linear for TF-IDF; occlusion for token runs)."""
    from lmforge.explain.attribute import explain

    if classifier.task == "tokens":
        return explain_token_texts(classifier, texts, method, word)
    if word is not None:
        from lmforge.serve.errors import InvalidRequest

        raise InvalidRequest("'word' is for token runs (named entities, part-of-speech); this "
                             f"model is a {classifier.task} text classifier: leave 'word' out")
    out = []
    for e in explain(classifier, list(texts), method=method or "auto"):
        item: dict[str, Any] = {
            "index": e.index, "target": e.target, "method": e.method, "text": e.text,
            "words": e.words, "spans": [list(span) for span in e.spans], "scores": e.scores,
            "probabilities": e.probabilities, "steps": e.steps,
            "completeness_gap": e.completeness_gap, "truncated": e.truncated,
            "dropped_words": e.dropped_words,
            "dropped_spans": [list(span) for span in e.dropped_spans]}
        item["value" if e.task == "regression" else "labels" if e.task == "multi" else "label"] = (
            e.predicted)
        out.append(item)
    return out


def explain_token_texts(tagger: Any, texts: Sequence[str], method: str | None,
                        word: int | None) -> list[dict[str, Any]]:
    """``explain.tokens.explain_tokens`` -> dicts shaped like ``protocol.TokenExplanation``;
    its refusals (plain tags without ``word``, a word past the end, ig) are 422s."""
    from lmforge.errors import LmforgeError
    from lmforge.explain.tokens import explain_tokens
    from lmforge.serve.errors import InvalidRequest

    try:
        found = explain_tokens(tagger, list(texts), word=word, method=method or "auto")
    except LmforgeError as exc:
        raise InvalidRequest(str(exc)) from None
    return [{"index": e.index, "target": e.target, "target_tags": list(e.target_tags),
             "method": e.method, "text": e.text, "words": list(e.words),
             "spans": [list(span) for span in e.spans], "tags": list(e.tags), "start": e.start,
             "end": e.end, "probability": float(e.probability),
             "scores": [None if v is None else float(v) for v in e.scores],
             "entity": bool(e.entity)} for e in found]


@dataclass(eq=False)
class _Job:
    """One request's texts; ``future`` resolves when every text has its result."""

    texts: list[str]
    request_id: str
    future: asyncio.Future[list[dict[str, Any]]]
    enqueued: float
    results: list[Any] = field(default_factory=list)
    remaining: int = 0


class Batcher:
    """Bounded queue of texts + one task that groups them into forward passes."""

    def __init__(self, model: ServedModel, executor: ThreadPoolExecutor, config: ServeConfig,
                 metrics: ServeMetrics, predict: Callable[[Any, list[str]], list[Any]] = predict_texts):
        self.model = model
        self.max_batch_size = config.max_batch_size
        self.max_wait_s = config.max_wait_ms / 1000.0
        self.max_queue_texts = config.max_queue_texts
        self.retry_after_s = config.retry_after_s
        self._executor = executor
        self._metrics = metrics
        self._predict = predict
        self._pending: deque[tuple[_Job, int]] = deque()  # one entry per text
        self._wakeup = asyncio.Event()
        self._inflight: list[tuple[_Job, int]] = []  # the batch in the forward pass now
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lmforge-batcher-{self.model.name}")
        self._task.add_done_callback(self._on_worker_exit)

    async def submit(self, texts: list[str], request_id: str) -> list[dict[str, Any]]:
        """Queue the texts and wait for their results, in order. 503 when full or closing."""
        if self._closed or self._task is None:
            raise Unavailable("the server is shutting down; send the request again elsewhere "
                              "or after the restart", self.retry_after_s)
        if len(self._pending) + len(texts) > self.max_queue_texts:
            self._metrics.queue_rejections.labels(self.model.name).inc()
            raise Unavailable(
                f"the queue of model '{self.model.name}' is full ({len(self._pending)} texts "
                f"waiting, limit {self.max_queue_texts}, --max-queue-texts). Retry after "
                f"{self.retry_after_s} s, or send fewer texts at once.", self.retry_after_s)
        loop = asyncio.get_running_loop()
        job = _Job(list(texts), request_id, loop.create_future(), loop.time(),
                   [None] * len(texts), len(texts))
        self._pending.extend((job, i) for i in range(len(texts)))
        self._metrics.queue_depth.labels(self.model.name).set(len(self._pending))
        self._wakeup.set()
        return await job.future

    async def drain(self, timeout_s: float) -> None:
        """Refuse new work, finish what is queued (at most ``timeout_s``), then stop."""
        self._closed = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except asyncio.TimeoutError:
            log.warning("model '%s': %d texts still queued after %.0f s; giving up on them",
                        self.model.name, len(self._pending), timeout_s)
            self._task.cancel()
            self._fail_pending(Unavailable("the server shut down before this request was "
                                           "processed; send it again", self.retry_after_s))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # Give other requests until max_wait after the oldest queued text to join.
            deadline = self._pending[0][0].enqueued + self.max_wait_s
            while len(self._pending) < self.max_batch_size and not self._closed:
                left = deadline - loop.time()
                if left <= 0:
                    break
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), left)
                except asyncio.TimeoutError:
                    break
            take = min(self.max_batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(take)]
            self._metrics.queue_depth.labels(self.model.name).set(len(self._pending))
            batch = [(job, i) for job, i in batch if not job.future.done()]  # cancelled callers
            if batch:
                self._inflight = batch
                await self._forward(batch)
                self._inflight = []

    async def _forward(self, batch: list[tuple[_Job, int]]) -> None:
        loop = asyncio.get_running_loop()
        texts = [job.texts[i] for job, i in batch]
        name = self.model.name
        started = time.perf_counter()
        try:
            outputs, long_texts = await loop.run_in_executor(
                self._executor, with_long_texts_counted, self._predict, self.model.classifier, texts)
        except Exception as exc:  # the worker must outlive any model failure
            jobs = list(dict.fromkeys(job for job, _ in batch))
            if len(jobs) > 1:  # run each request alone: only the one that breaks the model fails
                for job in jobs:
                    await self._forward([(j, i) for j, i in batch if j is job])
            else:
                self._fail(jobs[0], exc)
            return
        finally:
            self._metrics.batch_size.labels(name).observe(len(texts))
            self._metrics.forward_seconds.labels(name).observe(time.perf_counter() - started)
        self.model.count_long_texts(long_texts, self._metrics)
        for (job, i), output in zip(batch, outputs, strict=True):
            job.results[i] = output
            job.remaining -= 1
            if job.remaining == 0 and not job.future.done():
                job.future.set_result(job.results)

    def _fail(self, job: _Job, exc: Exception) -> None:
        if job.future.done():
            return
        if isinstance(exc, LmforgeError):  # a typed, user-readable error: pass it on as is
            job.future.set_exception(exc)
            return
        self._metrics.model_errors.labels(self.model.name).inc()
        log.error("request %s: model '%s' failed on %d texts: %s: %s", job.request_id,
                  self.model.name, len(job.texts), type(exc).__name__, exc, exc_info=exc)
        job.future.set_exception(ModelFailure(
            f"the model '{self.model.name}' failed on this request ({type(exc).__name__}). "
            f"Request id {job.request_id}: the server log has the details."))

    def _fail_pending(self, exc: Exception) -> None:
        """Fail every caller still waiting: queued or in the interrupted forward pass."""
        waiting = self._inflight + list(self._pending)
        self._pending.clear()
        self._inflight = []
        for job, _ in waiting:
            if not job.future.done():
                job.future.set_exception(exc)
        self._metrics.queue_depth.labels(self.model.name).set(0)

    def _on_worker_exit(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("the batcher of model '%s' stopped unexpectedly", self.model.name,
                  exc_info=task.exception())
        self._closed = True
        self._fail_pending(ModelFailure(f"the batcher of model '{self.model.name}' stopped; "
                                        "restart the server (the log has the details)"))


def parse_model_specs(run_dirs: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """``RUN_DIR`` or ``NAME=RUN_DIR`` -> (name, path); the name defaults to the folder's."""
    from lmforge.errors import ConfigError
    from lmforge.rundir import check_run_dir

    if not run_dirs:
        raise ConfigError("serve needs at least one run directory")
    specs: list[tuple[str, Path]] = []
    for spec in run_dirs:
        text = str(spec)
        name, sep, path = text.partition("=")
        if not sep or not name or "/" in name or Path(text).exists():
            name, path = Path(text).resolve().name, text
        specs.append((name, check_run_dir(path).resolve()))
    names = [n for n, _ in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"two run directories are both named {', '.join(map(repr, duplicates))}; "
                          "give them names with NAME=RUN_DIR")
    return specs


class ModelPool:
    """The served models, their batchers and the one worker thread."""

    def __init__(self, specs: Sequence[tuple[str, Path]], config: ServeConfig,
                 metrics: ServeMetrics):
        self.config = config
        self.metrics = metrics
        self.models = {name: ServedModel(name, path) for name, path in specs}
        self.default = specs[0][0]
        self.batchers: dict[str, Batcher] = {}
        self.draining = False
        self._executor: ThreadPoolExecutor | None = None
        # explanations run on their own thread, beside the batcher's: one of them takes as long
        # as many forward passes and must not hold up predictions
        self._explain_executor: ThreadPoolExecutor | None = None
        self._explaining = 0
        self._loader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the batchers and load the models in the background (GET /ready tells when)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmforge-model")
        self._explain_executor = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="lmforge-explain")
        for name, model in self.models.items():
            self.batchers[name] = Batcher(model, self._executor, self.config, self.metrics)
            self.batchers[name].start()
        self._loader = asyncio.create_task(self._load_all(), name="lmforge-load-models")

    async def _load_all(self) -> None:
        loop = asyncio.get_running_loop()
        if self.config.threads:
            await loop.run_in_executor(self._executor, _set_threads, self.config.threads)
        for model in self.models.values():
            try:
                await loop.run_in_executor(self._executor, model.load, min(
                    self.config.forward_batch_size, self.config.max_batch_size))
            except Exception as exc:  # reported by /ready and the log, not fatal
                model.state, model.failure = "failed", f"{type(exc).__name__}: {exc}"
                log.error("model '%s' failed to load from %s: %s", model.name, model.run_dir,
                          model.failure, exc_info=exc)

    async def wait_loaded(self) -> None:
        if self._loader is not None:
            await asyncio.shield(self._loader)

    async def stop(self) -> None:
        """Drain every queue (bounded by shutdown_timeout_s), then release the thread."""
        self.draining = True
        await asyncio.gather(*(b.drain(self.config.shutdown_timeout_s)
                               for b in self.batchers.values()))
        if self._loader is not None and not self._loader.done():
            self._loader.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._explain_executor is not None:
            self._explain_executor.shutdown(wait=False, cancel_futures=True)

    def get(self, name: str | None) -> ServedModel:
        model = self.models.get(name or self.default)
        if model is None:
            raise NotFound(f"model '{name}' is not served here; served: "
                           f"{', '.join(self.models)} (GET /v1/models)")
        return model

    async def predict(self, texts: list[str], name: str | None,
                      request_id: str) -> tuple[ServedModel, list[dict[str, Any]]]:
        model = self.ready_model(name)
        return model, await self.batchers[model.name].submit(texts, request_id)

    async def explain(self, texts: list[str], name: str | None, method: str | None,
                      request_id: str, word: int | None = None
                      ) -> tuple[ServedModel, list[dict[str, Any]]]:
        """Word attributions on the explain thread (not through the batcher)."""
        model = self.ready_model(name)
        retry = self.config.retry_after_s
        if self._explain_executor is None:
            raise Unavailable("the server is starting; retry in a few seconds", retry)
        if self._explaining >= MAX_WAITING_EXPLANATIONS:
            raise Unavailable(f"{self._explaining} explanations are being computed or waiting "
                              f"(limit {MAX_WAITING_EXPLANATIONS}); retry after {retry} s", retry)
        loop = asyncio.get_running_loop()
        self._explaining += 1
        try:  # an unexpected failure goes to the app's error funnel (logged, 500)
            explanations, long_texts = await loop.run_in_executor(
                self._explain_executor, with_long_texts_counted, explain_texts, model.classifier,
                texts, method, word)
            model.count_long_texts(long_texts, self.metrics)
            return model, explanations
        finally:
            self._explaining -= 1

    def ready_model(self, name: str | None) -> ServedModel:
        """The served model, or 404/503/500 when unknown, still loading, draining or failed."""
        model = self.get(name)
        retry = self.config.retry_after_s
        if self.draining:
            raise Unavailable("the server is shutting down; send the request again after the "
                              "restart", retry)
        if model.state == "loading":
            raise Unavailable(f"model '{model.name}' is still loading; retry in a few seconds "
                              "(GET /ready answers 200 once it is ready)", max(retry, 2))
        if model.state == "failed":
            raise ModelFailure(f"model '{model.name}' failed to load ({model.failure}); fix the "
                               "run directory and restart the server")
        return model

    def readiness(self) -> tuple[str, dict[str, str]]:
        states = {name: m.state for name, m in self.models.items()}
        if self.draining:
            return "draining", states
        if any(s == "failed" for s in states.values()):
            return "failed", states
        if all(s == "ready" for s in states.values()):
            return "ready", states
        return "loading", states


def _set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)  # called in the worker thread: OpenMP settings are per thread
