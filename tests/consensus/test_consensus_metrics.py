"""PBA and VSC on hand-computed fixtures."""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from valuealign.backends import TokenLogprob
from valuealign.consensus.metrics import (
    perplexity_acceptance,
    text_agreement,
    values_self_consistency,
)


@dataclass
class StubBackend:
    """token_logprobs gives every token of `text` the log-prob table[(listener, text)]."""

    listener: str
    table: dict

    def token_logprobs(self, text, context):
        return [
            TokenLogprob(token=w, logprob=self.table[(self.listener, text)]) for w in text.split()
        ]


@dataclass
class StubAgent:
    id: str
    backend: StubBackend

    def system(self, language):
        return f"profile {self.id}"


def test_perplexity_acceptance_by_hand() -> None:
    # perplexity = exp(-mean logprob) = exp(-lp); choose lp = -ln(ppl)
    ppl = {
        ("a", "open a"): 2.0,
        ("b", "open a"): 8.0,
        ("a", "final a"): 3.0,
        ("b", "final a"): 4.0,
        ("a", "open b"): 10.0,
        ("b", "open b"): 2.0,
        ("a", "final b"): 5.0,
        ("b", "final b"): 2.5,
    }
    table = {k: -math.log(v) for k, v in ppl.items()}
    agents = [StubAgent("a", StubBackend("a", table)), StubAgent("b", StubBackend("b", table))]
    m = perplexity_acceptance(agents, "topic", "en", ["open a", "open b"], ["final a", "final b"])
    a_to_b = next(p for p in m["pairs"] if p["speaker"] == "a")
    assert a_to_b["ppl_opening"] == pytest.approx(8.0) and a_to_b["ppl_final"] == pytest.approx(4.0)
    assert a_to_b["acceptance_gain"] == pytest.approx(4.0)
    assert a_to_b["cross_gap_ratio"] == pytest.approx((4 - 3) / (8 - 2), abs=1e-4)
    b_to_a = next(p for p in m["pairs"] if p["speaker"] == "b")
    assert b_to_a["acceptance_gain"] == pytest.approx(5.0)
    assert b_to_a["cross_gap_ratio"] == pytest.approx((5 - 2.5) / (10 - 2), abs=1e-4)
    assert m["mean_gain"] == pytest.approx(4.5) and m["balance"] == pytest.approx(1.0)


def test_pba_is_none_without_log_probabilities() -> None:
    @dataclass
    class NoLogprobs:
        name: str = "mock/x"

    agents = [StubAgent("a", NoLogprobs()), StubAgent("b", NoLogprobs())]
    assert perplexity_acceptance(agents, "t", "en", ["x", "y"], ["x", "y"]) is None


VECTORS = {"oa": [1, 0, 0], "ob": [0, 1, 0], "fa": [1, 1, 0], "fb": [0, 1, 0]}


class StubDetector:
    def detect(self, text, language=None):
        return np.array(VECTORS[text], dtype=float)


def test_values_self_consistency_by_hand() -> None:
    m = values_self_consistency(
        ["a", "b"], ["oa", "ob"], ["fa", "fb"], "en", detector=StubDetector()
    )
    assert m["vsc"]["a"] == pytest.approx(1 / math.sqrt(2), abs=1e-4)  # a moved halfway towards b
    assert m["vsc"]["b"] == pytest.approx(1.0)  # b kept its values
    assert m["balance"] == pytest.approx(1 - 1 / math.sqrt(2), abs=1e-4)  # the imbalance: a yielded
    gain = m["consensus"][0]
    assert gain["before"] == pytest.approx(0.0) and gain["after"] == pytest.approx(
        1 / math.sqrt(2), abs=1e-4
    )


def test_text_agreement() -> None:
    assert text_agreement(["x", "y", "z"], lambda a, b: 0.5) == 0.5
    assert text_agreement(["only one"], lambda a, b: 1.0) is None
