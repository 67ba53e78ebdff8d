"""A token-classification run (``--task tokens``), loaded to tag: PyTorch or ONNX.

``tagger.tag([["John", "lives", "in", "Paris"]])`` -> one tag per token;
``tagger.predict(["John lives in Paris."])`` -> per text its tokens, their character spans,
tags and entities with character offsets (``{"text", "type", "start", "end", "score"}``).
Raw text is split into tokens the way the training data was: one per character for
character-level Chinese, else words and punctuation marks. Sentences longer than the model
reads are tagged in windows and stitched (``data.token_windows``), never cut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.data.conll import BIO, entities_of, join_tokens, split_text
from lmforge.data.token_windows import PIECES, TokenRows, continuation_ids, encode_sentences, stitch
from lmforge.errors import DataError, RunDirError
from lmforge.inference.long_texts import note_long_texts

TOKENS_FILE = "tokens.json"  # RUN/tokens.json: the tag set, scheme and token unit of a token run
TASK = "tokens"


def read_tokens_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / TOKENS_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RunDirError(f"cannot read '{path}': {exc}. A token-classification run needs it; "
                          "copy the complete run directory.") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list):
        raise RunDirError(f"{path}: expected a mapping with \"labels\", \"scheme\" and \"unit\"")
    return meta


def is_token_run(run_dir: str | Path) -> bool:
    return (Path(run_dir) / TOKENS_FILE).is_file()


@dataclass
class TokenTagger:
    """A token run's model (``model``: a transformers token classifier, or an ONNX Runtime
    session when ``backend`` is "onnx"), ready to tag. Create with ``lmforge.load(RUN_DIR)``."""

    run_dir: Path
    model: Any
    tokenizer: Any
    labels: list[str]
    scheme: str  # "bio" (entities) or "tags" (e.g. part-of-speech)
    unit: str  # "word" or "char"
    max_length: int
    batch_size: int
    settings: dict[str, Any]
    backend: str = "pytorch"
    onnx_path: Path | None = None
    task: str = TASK
    pieces: str = "first"  # sub-words a tag is read from (tokens.json "pieces"; data.token_windows)
    segments: bool = False  # alternating segment ids mark the tokens (tokens.json "segments")

    @property
    def classes_(self) -> list[str]:
        return list(self.labels)

    def encode(self, sentences: Sequence[Sequence[str]]) -> TokenRows:
        return encode_sentences(self.tokenizer, sentences, self.max_length, pieces=self.pieces,
                                continuation=continuation_ids(self.labels, self.scheme == BIO),
                                segments=self.segments)

    def row_logits(self, rows: TokenRows) -> list[Any]:
        """(row length, labels) logits of each row, in row order."""
        import numpy as np

        from lmforge.data.tokenize import sorted_batches
        from lmforge.inference.torch import pad_id

        pad = pad_id(self.tokenizer)
        out: list[Any] = [None] * len(rows.input_ids)
        lengths = [len(r) for r in rows.input_ids]
        for idx in sorted_batches(lengths, self.batch_size):
            batch = [rows.input_ids[i] for i in idx]
            logits = (self._onnx_forward(batch, pad) if self.backend == "onnx"
                      else self._torch_forward(batch, pad))
            for j, i in enumerate(idx):
                out[i] = np.asarray(logits[j, : lengths[i]], dtype=np.float32)
        return out

    def _torch_forward(self, batch: list[list[int]], pad: int) -> Any:
        import torch

        from lmforge.data.tokenize import pad_batch

        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.inference_mode():
            inputs = {k: v.to(device) for k, v in pad_batch(batch, pad).items()}
            return self.model(**inputs).logits.float().cpu().numpy()

    def _onnx_forward(self, batch: list[list[int]], pad: int) -> Any:
        import numpy as np

        from lmforge.inference.onnx import pad_numpy

        feed = pad_numpy(batch, pad)
        names = {i.name for i in self.model.get_inputs()}
        if "token_type_ids" in names and "token_type_ids" not in feed:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return self.model.run(None, {k: v for k, v in feed.items() if k in names})[0]

    def token_logits(self, sentences: Sequence[Sequence[str]]) -> list[Any]:
        """(tokens, labels) logits of each sentence, windows stitched."""
        sentences = _as_sentences(sentences)
        if not sentences:
            return []
        rows = self.encode(sentences)
        note_long_texts(rows.n_windowed, len(sentences), self.max_length, None, "sentences")
        return stitch(self.row_logits(rows), rows, [len(s) for s in sentences])

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """One tag per token of each sentence (lists of tokens)."""
        return [[self.labels[int(i)] for i in logits.argmax(axis=1)]
                for logits in self.token_logits(sentences)]

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Per raw text: tokens, spans, tags and entities with character offsets."""
        if isinstance(texts, str):
            raise DataError("pass a list of texts, not a single string: predict(['some text'])")
        split = [split_text(str(t), self.unit) for t in texts]
        return self._rows(list(texts), [s[0] for s in split], [s[1] for s in split])

    def predict_tokens(self, sentences: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
        """Like ``predict`` for sentences given as tokens; offsets index the tokens joined
        (by spaces, or directly for character-level runs)."""
        sentences = _as_sentences(sentences)
        joined = [join_tokens(s, self.unit) for s in sentences]
        return self._rows([j[0] for j in joined], sentences, [j[1] for j in joined])

    def _rows(self, texts: list[str], tokens: list[list[str]],
              spans: list[list[tuple[int, int]]]) -> list[dict[str, Any]]:
        import numpy as np

        nonempty = [i for i, t in enumerate(tokens) if t]
        logits = self.token_logits([tokens[i] for i in nonempty])
        by_index = dict(zip(nonempty, logits, strict=True))
        rows = []
        for i, text in enumerate(texts):
            row_logits = by_index.get(i, np.zeros((0, len(self.labels)), dtype=np.float32))
            shifted = np.exp(row_logits - row_logits.max(axis=1, keepdims=True)) if len(
                row_logits) else row_logits
            probs = shifted / shifted.sum(axis=1, keepdims=True) if len(row_logits) else shifted
            tags = [self.labels[int(j)] for j in row_logits.argmax(axis=1)] if len(
                row_logits) else []
            entities = []
            if self.scheme == BIO:
                for kind, first, end in entities_of(tags):
                    start, stop = spans[i][first][0], spans[i][end - 1][1]
                    score = float(np.mean([probs[k].max() for k in range(first, end)]))
                    entities.append({"text": text[start:stop], "type": kind, "start": start,
                                     "end": stop, "score": round(score, 4)})
            rows.append({"text": text, "tokens": tokens[i], "spans": [list(s) for s in spans[i]],
                         "tags": tags, "entities": entities})
        return rows


def _as_sentences(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    if isinstance(sentences, str):
        raise DataError("pass a list of sentences, each a list of tokens: "
                        "tag([['John', 'lives', 'in', 'Paris']])")
    out = []
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not all(isinstance(t, str) for t in sentence):
            raise DataError(f"sentence #{i} is not a list of token strings")
        if not sentence:
            raise DataError(f"sentence #{i} has no tokens")
        out.append(list(sentence))
    return out


def load_token_tagger(run_dir: Path, settings: dict[str, Any], batch_size: int | None = None,
                      num_threads: int | None = None, onnx_path: Path | None = None) -> TokenTagger:
    """A token run: PyTorch weights, or ``model/model.onnx`` when the run was exported."""
    from lmforge.inference.onnx import ONNX_FILE, create_session
    from lmforge.models.build import load_tokenizer

    meta = read_tokens_json(run_dir)
    pieces = str(meta.get("pieces", "first"))  # runs written before "pieces" labelled the first
    if pieces not in PIECES:
        raise RunDirError(f"{run_dir / TOKENS_FILE}: \"pieces\" must be one of {PIECES}, got "
                          f"{pieces!r}; the run was written by a newer lmforge, or edited")
    segments = meta.get("segments", False)  # runs written before "segments" had none
    if not isinstance(segments, bool):
        raise RunDirError(f"{run_dir / TOKENS_FILE}: \"segments\" must be true or false, got "
                          f"{segments!r}; the run was written by a newer lmforge, or edited")
    model_dir = run_dir / "model"
    onnx_path = onnx_path or (model_dir / ONNX_FILE if (model_dir / ONNX_FILE).is_file() else None)
    if onnx_path is not None:
        model, backend = create_session(onnx_path, num_threads), "onnx"
    else:
        from lmforge.models.token_classifier import load_token_classifier

        model, backend = load_token_classifier(model_dir), "pytorch"
    return TokenTagger(run_dir=run_dir, model=model, tokenizer=load_tokenizer(model_dir),
                       labels=[str(label) for label in meta["labels"]],
                       scheme=str(meta.get("scheme", BIO)), unit=str(meta.get("unit", "word")),
                       max_length=int(settings.get("max_length", 128)),
                       batch_size=batch_size or int(settings.get("eval_batch_size", 64)),
                       settings=settings, backend=backend, onnx_path=onnx_path, pieces=pieces,
                       segments=segments)
