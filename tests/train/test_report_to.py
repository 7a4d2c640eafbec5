"""report_to (experiment trackers) and the trl_args escape hatch in the stage configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.errors import UserError
from valuealign.train import load_stage_config

SFT = """stage: sft
model: hf/smollm2-135m-instruct
data: [builtin:sft-sample]
out: {out}
seq_len: 64
batch_size: 2
max_steps: 1
eval_fraction: 0
drift: false
"""


def _load(tmp_path: Path, extra: str):
    path = tmp_path / "sft.yaml"
    path.write_text(SFT.format(out=tmp_path / "run") + extra)
    return path, lambda: load_stage_config("sft", path)


def test_report_to_and_trl_args_reach_trl(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from valuealign.train.runner import training_arguments

    _, load = _load(tmp_path, "report_to: tensorboard\ntrl_args:\n  neftune_noise_alpha: 5.0\n")
    args = training_arguments(load(), has_eval=False)
    assert args.report_to == ["tensorboard"]
    assert args.neftune_noise_alpha == 5.0
    _, load = _load(tmp_path, "")
    args = training_arguments(load(), has_eval=False)
    assert args.report_to == [] or args.report_to == ["none"] or args.report_to == "none"
    assert args.neftune_noise_alpha is None


@pytest.mark.parametrize(
    ("extra", "line", "needle"),
    [
        ("trl_args:\n  neftune_noise_alfa: 5\n", 11, "did you mean 'neftune_noise_alpha'?"),
        ("trl_args:\n  learning_rate: 0.1\n", 11, "use the config's own key 'learning_rate:'"),
        ("report_to: [none, tensorboard]\n", 10, "'none' cannot be combined"),
        ("report_to: comet\n", 10, "report_to"),
    ],
)
def test_bad_tracking_settings_name_file_and_line(
    tmp_path: Path, extra: str, line: int, needle: str
) -> None:
    path, load = _load(tmp_path, extra)
    with pytest.raises(UserError) as info:
        load()
    assert f"{path}:{line}" in str(info.value) and needle in str(info.value)


def test_missing_tracker_package_is_named(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a)
    )
    path, load = _load(tmp_path, "report_to: [wandb]\n")
    with pytest.raises(UserError, match="pip install wandb") as info:
        load()
    assert f"{path}:10" in str(info.value)


def test_unknown_trl_arg_is_exit_2_from_the_cli(cli, tmp_path: Path) -> None:
    path, _ = _load(tmp_path, "trl_args:\n  not_a_trl_argument: 1\n")
    code, _, err = cli("train", "sft", "--config", str(path))
    assert code == 2 and f"{path}:11" in err and "not_a_trl_argument" in err


def test_tensorboard_gets_the_loss_of_a_real_step(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from valuealign.train import run_stage

    _, load = _load(tmp_path, "report_to: tensorboard\nlogging_steps: 1\n")
    manifest = run_stage(load())
    events = list((tmp_path / "run").rglob("events.out.tfevents.*"))
    assert events, "tensorboard wrote no event file"
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    loss_tag = next(t for t in tags if t.endswith("loss"))
    logged = acc.Scalars(loss_tag)[0].value
    assert logged == pytest.approx(manifest["loss_history"][0]["loss"], rel=1e-4)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["config"]["report_to"] == [
        "tensorboard"
    ]


def test_training_console_has_no_raw_dicts_unless_verbose(cli, tmp_path: Path) -> None:
    path, _ = _load(tmp_path, "logging_steps: 1\n")
    code, out, err = cli("train", "sft", "--config", str(path))
    assert code == 0, err
    text = out + err
    assert "{'loss'" not in text and "{'train_runtime'" not in text
    assert "[sft] step 1/1, loss " in text  # one formatted line per log step
    last = [x for x in out.splitlines() if x.strip()][-1]
    assert not last.lstrip().startswith("{"), last
