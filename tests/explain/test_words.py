"""Sub-word pieces -> words, spans back into the text, and what truncation drops."""

from __future__ import annotations

from typing import Any

import pytest

from lmforge.explain.words import align, group_pieces, piece_surface, without_spans


@pytest.fixture(scope="module")
def wordpiece() -> Any:
    from transformers import AutoTokenizer

    from lmforge.models.registry import resolve_model_dir

    return AutoTokenizer.from_pretrained(str(resolve_model_dir("default")))


@pytest.fixture(scope="module")
def byte_bpe() -> Any:
    """A byte-level BPE tokenizer (GPT-2 / RoBERTa style) trained here on a few sentences."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["the film was good", "the story was good and the film"] * 20, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>")


def test_wordpiece_continuations_join_the_previous_word() -> None:
    tokens = ["un", "##bel", "##ie", "##va", "##bly", "gripping", ",", "snow", "##boarding"]
    assert group_pieces(tokens) == [0, 0, 0, 0, 0, 1, 2, 3, 3]
    assert [piece_surface(t) for t in tokens[:3]] == ["un", "bel", "ie"]


def test_byte_level_bpe_and_sentencepiece_mark_word_starts() -> None:
    assert group_pieces(["The", "\u0120snow", "board", "ing", "\u0120film", "."]) == [0, 1, 1, 1, 2, 2]
    assert group_pieces(["\u2581Un", "believ", "ably", "\u2581good", "\u2581!"]) == [0, 0, 0, 1, 2]
    assert piece_surface("\u0120snow") == piece_surface("\u2581snow") == "snow"


def test_align_merges_pieces_and_maps_words_back_to_the_text(wordpiece: Any) -> None:
    from lmforge.data.tokenize import encode_texts

    text = "Unbelievably gripping, snowboarding film."
    pieces = align(wordpiece, text, 64, "head+tail")
    assert pieces.words == ["Unbelievably", "gripping", ",", "snowboarding", "film", "."]
    assert [text[s:e] for s, e in pieces.spans] == pieces.words
    # "unbelievably" is five WordPiece pieces, "snowboarding" two; positions skip [CLS]
    assert pieces.positions[0] == [1, 2, 3, 4, 5]
    assert pieces.positions[3] == [8, 9]
    assert pieces.ids == encode_texts(wordpiece, [text], 64, "head+tail").input_ids[0]
    assert pieces.dropped == [] and not pieces.truncated
    # cut inside "unbelievably" (5 pieces): truncated, though no whole word was dropped
    cut = align(wordpiece, "Unbelievably", 5, "head")
    assert cut.truncated and cut.dropped == [] and cut.words == ["Unbelievably"]
    assert cut.positions == [[1, 2, 3]]


def test_align_with_a_byte_level_bpe_tokenizer(byte_bpe: Any) -> None:
    text = "the storyboard was goodish"
    pieces = align(byte_bpe, text, 64, "head+tail")
    assert pieces.words == ["the", "storyboard", "was", "goodish"]
    assert [text[s:e] for s, e in pieces.spans] == pieces.words
    assert len(pieces.positions[1]) > 1  # "storyboard" is not in the tiny vocabulary


def test_truncation_head_tail_drops_the_middle_words(wordpiece: Any) -> None:
    from lmforge.data.tokenize import encode_texts

    words = [f"w{i}" for i in range(40)]  # "w12" is two pieces: w, ##12
    text = " ".join(words)
    pieces = align(wordpiece, text, 32, "head+tail")
    assert pieces.ids == encode_texts(wordpiece, [text], 32, "head+tail").input_ids[0]
    assert len(pieces.ids) == 32 and pieces.truncated
    assert pieces.words[0] == "w0" and pieces.words[-1] == "w39"
    assert pieces.dropped and set(pieces.dropped).isdisjoint(pieces.words)
    assert pieces.words + pieces.dropped != words  # the dropped ones come from the middle
    first_dropped = words.index(pieces.dropped[0])
    assert words[first_dropped:first_dropped + len(pieces.dropped)] == pieces.dropped
    assert [text[s:e] for s, e in pieces.dropped_spans] == pieces.dropped


def test_without_spans_keeps_neighbours_apart() -> None:
    text = "a well-made film"
    assert without_spans(text, [(6, 7)]) == "a well made film"
    assert without_spans(text, [(0, 1), (12, 16)]) == "well-made"
