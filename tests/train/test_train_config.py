"""Stage configs, data checks and mixing: everything that must fail fast, before a model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuealign.errors import UserError
from valuealign.train import load_chain_config, load_stage_config
from valuealign.train.config import DataSource
from valuealign.train.data import (
    add_share,
    load_chat_data,
    mix_sources,
    read_chat_rows,
    read_text_docs,
    resolve_path,
    split_eval,
)


def _chat_file(path: Path, n: int = 4) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": f"a{i}"},
                ],
                "id": f"x{i}",
            }
            f.write(json.dumps(row) + "\n")
    return path


def test_unknown_key_names_file_and_line(tmp_path: Path, cli) -> None:
    cfg = tmp_path / "sft.yaml"
    cfg.write_text("stage: sft\ndata: [a.jsonl]\nout: o\nlerning_rate: 0.1\n")
    with pytest.raises(UserError, match=r"sft\.yaml:4: unknown key 'lerning_rate'") as e:
        load_stage_config("sft", cfg)
    assert "learning_rate" in (e.value.fix or "")
    code, _, err = cli("train", "sft", "--config", str(cfg))
    assert code == 2 and "sft.yaml:4" in err


def test_nested_unknown_key_and_bad_value(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: [a.jsonl]\nout: o\nlora:\n  enabled: true\n  rank: 8\n")
    with pytest.raises(UserError, match=r"c\.yaml:5: unknown key 'lora.rank'"):
        load_stage_config("adversarial", cfg)
    cfg.write_text("data: [a.jsonl]\nout: o\nbatch_size: 0\n")
    with pytest.raises(UserError, match=r"c\.yaml:3: 'batch_size'"):
        load_stage_config("cpt", cfg)


def test_stage_mismatch_and_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("stage: cpt\ndata: [a.txt]\nout: o\n")
    with pytest.raises(UserError, match="for stage 'cpt', not 'sft'"):
        load_stage_config("sft", cfg)
    c = load_stage_config("cpt", cfg, {"max_steps": 3, "lora_enabled": True, "data": ["b.txt"]})
    assert c.max_steps == 3 and c.lora.enabled and [d.path for d in c.data] == ["b.txt"]
    # defaults differ by stage: adversarial is LoRA by default, CPT is not
    adv = load_stage_config("adversarial", None, {"data": ["x"], "out": "o"})
    cpt = load_stage_config("cpt", None, {"data": ["x"], "out": "o"})
    assert adv.lora.enabled and not cpt.lora.enabled
    with pytest.raises(UserError, match="no output folder"):
        load_stage_config("sft", None, {"data": ["x"]})


def test_chain_wires_stages(tmp_path: Path) -> None:
    cfg = tmp_path / "chain.yaml"
    cfg.write_text(
        "model: hf/smollm2-135m-instruct\nout: runs/c\n"
        "cpt:\n  data: [a.txt]\n  lora: {enabled: true}\n"
        "sft:\n  data: [s.jsonl]\n"
        "adversarial:\n  data: [adv.jsonl]\n  sft_mix: {data: [s.jsonl], ratio: 0.25}\n"
    )
    _, stages = load_chain_config(cfg)
    assert [s.stage for s in stages] == ["cpt", "sft", "adversarial"]
    assert stages[0].merge  # LoRA mid-chain: the next stage starts from the merged model
    assert stages[1].model == "hf/" + str(Path("runs/c/cpt/merged"))
    assert stages[2].model == "hf/" + str(Path("runs/c/sft"))
    assert stages[2].sft_mix.ratio == 0.25
    cfg.write_text("out: o\nsft:\n  data: [s.jsonl]\n  model: hf/x\n")
    with pytest.raises(UserError, match=r"chain\.yaml:4: 'sft.model' is set by the chain"):
        load_chain_config(cfg)
    cfg.write_text("out: o\nsft:\n  data: [s.jsonl]\n  epochz: 2\n")
    with pytest.raises(UserError, match=r"chain\.yaml:4: unknown key 'sft.epochz'"):
        load_chain_config(cfg)


def test_chat_rows_become_prompt_completion(tmp_path: Path) -> None:
    rows = read_chat_rows(_chat_file(tmp_path / "d.jsonl", 2))
    assert rows[0]["prompt"][-1] == {"role": "user", "content": "q0"}
    assert rows[0]["completion"] == [{"role": "assistant", "content": "a0"}]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"messages": [{"role": "user", "content": "q"}]}', "last message must be the assistant"),
        ('{"messages": [{"role": "robot", "content": "q"}]}', "messages.0.role"),
        ('{"id": 3}', "needs 'messages'"),
    ],
)
def test_malformed_chat_line_names_line(tmp_path: Path, cli, line: str, needle: str) -> None:
    path = _chat_file(tmp_path / "d.jsonl", 2)
    with path.open("a") as f:
        f.write(line + "\n")
    with pytest.raises(UserError, match=needle) as e:
        read_chat_rows(path)
    assert f"{path}:3" in str(e.value)
    code, _, err = cli(
        "train", "sft", "--data", str(path), "--out", str(tmp_path / "o"), "--max-steps", "1"
    )
    assert code == 2 and "d.jsonl:3" in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_missing_and_empty_data_exit_2(tmp_path: Path, cli) -> None:
    code, _, err = cli("train", "sft", "--data", str(tmp_path / "nope.jsonl"), "--out", "o")
    assert code == 2 and "nope.jsonl: data file not found" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UserError, match="no training rows"):
        load_chat_data([DataSource(path=str(empty))], seed=1)
    txt = tmp_path / "empty.txt"
    txt.write_text("   \n\n")
    assert read_text_docs(txt) == []
    code, _, err = cli("train", "cpt", "--data", str(txt), "--out", str(tmp_path / "o2"))
    assert code == 2 and "no text in this file" in err


def test_text_docs_and_builtin_paths(tmp_path: Path) -> None:
    p = tmp_path / "t.jsonl"
    p.write_text('{"body": "one"}\n{"body": "two"}\n')
    assert read_text_docs(p, "body") == ["one", "two"]
    with pytest.raises(UserError, match=r"t\.jsonl:1: no text field 'text'"):
        read_text_docs(p)
    assert resolve_path("builtin:sft-sample").name == "sft-sample.jsonl"
    with pytest.raises(UserError, match="unknown built-in"):
        resolve_path("builtin:nope")


def test_mixing_ratios_hold() -> None:
    a = [{"s": "a", "i": i} for i in range(30)]
    b = [{"s": "b", "i": i} for i in range(5)]
    mixed = mix_sources([a, b], [3.0, 1.0], seed=0)
    share_b = sum(r["s"] == "b" for r in mixed) / len(mixed)
    assert abs(share_b - 0.25) < 0.02
    assert {r["i"] for r in mixed if r["s"] == "a"} == set(range(30))  # nothing dropped
    assert mix_sources([a, b], [3.0, 1.0], seed=0) == mixed  # seeded
    out = add_share(a, b, 0.2, seed=0)
    assert len(out) == 30 + round(30 * 0.2 / 0.8)
    assert sum(r["s"] == "b" for r in out) / len(out) == pytest.approx(0.2, abs=0.02)


def test_split_is_seeded_and_disjoint() -> None:
    rows = list(range(40))
    train, evals = split_eval(rows, 0.1, seed=3)
    assert len(evals) == 4 and not set(train) & set(evals)
    assert split_eval(rows, 0.1, seed=3) == (train, evals)
    assert split_eval(rows[:3], 0.5, seed=3) == (rows[:3], [])


def test_accelerate_configs_parse() -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    root = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
    for name in ("ddp", "zero2", "zero3", "fsdp"):
        cfg = load_config_from_file(str(root / f"{name}.yaml"))
        assert cfg.num_processes == 8
        if name.startswith("zero"):
            ds = cfg.deepspeed_config["deepspeed_config_file"]
            data = json.loads((root.parents[1] / ds).read_text())
            assert data["zero_optimization"]["stage"] == int(name[-1])


def test_shipped_stage_configs_validate() -> None:
    from valuealign.configs import resolve_config

    root = resolve_config("builtin:sft", "train").parent  # shipped inside the package
    paths = sorted(root.glob("*.yaml"))
    assert len(paths) >= 6
    for path in paths:
        if path.stem.startswith("chain"):
            load_chain_config(path)
        else:
            import yaml

            stage = yaml.safe_load(path.read_text())["stage"]
            if stage == "rewriter":
                from valuealign.train.rewriter import load_rewriter_config

                assert load_rewriter_config(path).num_generations >= 2
            else:
                load_stage_config(stage, path)
