"""A tiny random-init Llama and a byte-level BPE tokenizer with a chat template, saved to disk."""

from __future__ import annotations

from pathlib import Path

import pytest

SENTENCES = [
    "the cat sat on the mat and looked at the dog",
    "a bird sings in the old tree near the river",
    "my friend likes the red house on the hill",
    "this movie was great and the acting was wonderful",
    "this film was awful and the plot was boring",
    "what is the capital of france? paris is the capital",
    "summarize the text in a few words please",
] * 4
SPECIAL = ["<pad>", "<|im_start|>", "<|im_end|>", "<bos>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tokenizer(chat_template: str | None = CHAT_TEMPLATE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SENTENCES, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>",
                                   bos_token="<bos>")
    if chat_template:
        fast.chat_template = chat_template
    return fast


def save_tiny_llama(out: Path, chat_template: str | None = CHAT_TEMPLATE, context: int = 256) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(chat_template)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=context, tie_word_embeddings=False,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.bos_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # random weights, but never the end of sequence or special tokens when greedy: the
        # tests want full-length outputs (their logit is 0, about half the others are above)
        for token in SPECIAL:
            model.lm_head.weight[tokenizer.convert_tokens_to_ids(token)] = 0.0
        # larger logits than the init's: greedy and sampled outputs then vary across tokens
        model.lm_head.weight.mul_(20.0)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_plain_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of model without a chat template (like a `pretrain clm` run)."""
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama-plain"), chat_template=None)


@pytest.fixture(scope="session")
def tiny_lm(tiny_lm_dir: Path):
    from lmforge.generate.models import load_causal_lm

    return load_causal_lm(str(tiny_lm_dir))

