"""Shared fixture for the curate tests: one reference run of the synthetic corpus."""

from __future__ import annotations

import pytest
from curate_corpus import SETTINGS, Reference, write_corpus

from valuealign.curate import run_curate


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("curate-ref")
    corpus, inputs, copied = write_corpus(root / "in")
    out = root / "out"
    stats = run_curate(inputs, out, SETTINGS, workers=1, progress=False)
    return Reference(corpus, inputs, out, stats, SETTINGS, copied)
