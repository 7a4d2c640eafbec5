"""Fixtures for the generation tests (the scripted role functions live in gen_fakes.py)."""

from __future__ import annotations

import pytest
from gen_fakes import actor_fn, attacker_fn, critic_fn

from valuealign.backends import FunctionBackend, register_mock, unregister_mock


@pytest.fixture
def roles():
    register_mock("attacker", FunctionBackend(attacker_fn, name="mock/attacker"))
    register_mock("actor", FunctionBackend(actor_fn, name="mock/actor"))
    register_mock("critic", FunctionBackend(critic_fn, name="mock/critic"))
    yield {"attacker": "mock/attacker", "actor": "mock/actor", "critic": "mock/critic"}
    for n in ("attacker", "actor", "critic"):
        unregister_mock(n)
