"""The ray executor gives byte-identical output to the local one (a local Ray instance)."""

from __future__ import annotations

from pathlib import Path

import pytest
from curate_corpus import SETTINGS, Reference, output_bytes

from valuealign.curate import run_curate


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        ignore_reinit_error=True,
    )
    yield ray
    ray.shutdown()


def test_ray_and_local_give_identical_output(
    ray_instance, reference: Reference, tmp_path: Path
) -> None:
    stats = run_curate(reference.inputs, tmp_path / "ray", SETTINGS, executor="ray", progress=False)
    assert stats["executor"] == "ray"
    assert output_bytes(tmp_path / "ray") == output_bytes(reference.out)
    assert stats["steps"]["dedup"]["kept"] == reference.stats["steps"]["dedup"]["kept"]
    assert ray_instance.is_initialized()  # the test's instance was used, not shut down
