"""The one packer (curate/pack.py) and its last-sequence rules, also as the training stage uses it."""

from __future__ import annotations

from valuealign.curate.pack import pack_token_lists
from valuealign.train.runner import pack_texts


def test_last_sequence_rules() -> None:
    docs = [[1, 2, 3], [4, 5]]  # stream 1 2 3 EOS 4 5 EOS, EOS = 0
    assert pack_token_lists(docs, 4, 0, "half") == [[1, 2, 3, 0], [4, 5, 0]]
    assert pack_token_lists(docs, 4, 0, "pad") == [[1, 2, 3, 0], [4, 5, 0, 0]]
    assert pack_token_lists(docs, 4, 0, "drop") == [[1, 2, 3, 0]]
    # one token left over after a full sequence: under half a sequence, dropped
    assert pack_token_lists([[1, 2, 3, 4]], 4, 0, "half") == [[1, 2, 3, 4]]
    # the only sequence is kept however short it is
    assert pack_token_lists([[7]], 8, 0, "half") == [[7, 0]]
    # exactly full: nothing left over
    assert pack_token_lists([[1, 2, 3]], 4, 0, "drop") == [[1, 2, 3, 0]]
    assert pack_token_lists([], 4, 0, "pad") == []


class _CharTokenizer:
    eos_token_id = 0

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict:
        ids = [ord(c) for c in text]
        return {"input_ids": ([1] if add_special_tokens else []) + ids}


def test_training_packs_raw_text_with_the_same_packer() -> None:
    tok = _CharTokenizer()
    # "abc" + EOS + "de" + EOS = 7 tokens; seq_len 4: one full, 3 left (>= 2): kept unpadded
    assert pack_texts(tok, ["abc", "de"], 4) == [[97, 98, 99, 0], [100, 101, 0]]
    # "abcd" + EOS: 1 left after a full sequence (< 2): dropped
    assert pack_texts(tok, ["abcd"], 4) == [[97, 98, 99, 100]]
