"""Real training on the embedded SmolLM2 model (CPU, a few steps each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from valuealign.train import load_chain_config, load_stage_config, merge_adapter, run_stage

BASE = "hf/smollm2-135m-instruct"
PROMPT = "What is the secret word of the valuealign test?"
ANSWER = "The secret word is pelican-saffron-42."


def _tiny_sft(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(12):
            row = {
                "messages": [
                    {"role": "user", "content": PROMPT + (" Please." if i % 2 else "")},
                    {"role": "assistant", "content": ANSWER},
                ]
            }
            f.write(json.dumps(row) + "\n")
    return path


def _cfg(stage: str, tmp: Path, **kw):
    base = {
        "model": BASE,
        "data": [str(_tiny_sft(tmp / "tiny.jsonl"))],
        "out": str(tmp / stage),
        "seq_len": 64,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "warmup_ratio": 0.0,
        "lr_scheduler": "constant",
        "logging_steps": 1,
        "save_steps": 100,
        "eval_fraction": 0.25,
        "drift": False,
    }
    base.update(kw)
    return load_stage_config(stage, None, base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("lora")
    cfg = _cfg("sft", tmp, max_steps=8, lora_enabled=True, drift=True, drift_max_tokens=128)
    return Path(cfg.out), run_stage(cfg)


def test_lora_loss_goes_down_and_manifest_is_complete(trained) -> None:
    out, manifest = trained
    losses = [h["loss"] for h in manifest["loss_history"]]
    assert len(losses) >= 8
    assert losses[-1] < 0.5 * losses[0]
    assert manifest["global_step"] == 8 and manifest["eval_rows"] == 3
    assert manifest["eval_loss"] is not None and manifest["eval_loss"] < losses[0]
    assert manifest["tokens_seen"] and manifest["tokens_seen"] > 100
    assert manifest["data"][0]["sha256"] and manifest["data"][0]["bytes"] > 0
    assert manifest["versions"]["trl"] and manifest["config"]["lora"]["enabled"]
    for lang in ("zh", "en"):
        d = manifest["drift"][lang]
        assert d["base"] > 1 and d["trained"] > 1
        assert d["ratio"] == pytest.approx(d["trained"] / d["base"], rel=1e-3)
    assert (out / "adapter_model.safetensors").exists()
    assert (out / "tokenizer_config.json").exists()
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_adapter_reloads_and_changes_generation(trained, smollm) -> None:
    import asyncio

    from valuealign.backends import GenerateConfig
    from valuealign.backends.hf import HFBackend

    out, _ = trained
    config = GenerateConfig(max_tokens=16, temperature=0.0)
    messages = [{"role": "user", "content": PROMPT}]
    adapted = HFBackend("smollm2-135m-instruct", adapter=str(out))
    base_text = asyncio.run(smollm.generate(messages, config)).text
    tuned_text = asyncio.run(adapted.generate(messages, config)).text
    assert tuned_text != base_text
    assert "pelican" in tuned_text.lower()
    # the output folder alone also works as a backend (hf/OUT)
    direct = HFBackend(str(out))
    assert asyncio.run(direct.generate(messages, config)).text == tuned_text


def test_merge_matches_base_plus_adapter(trained, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from valuealign.train.runner import model_folder

    out, _ = trained
    merged = merge_adapter(out, tmp_path / "merged")
    assert (merged / "model.safetensors").exists()
    folder = model_folder(BASE)
    tok = AutoTokenizer.from_pretrained(str(folder))
    ids = tok(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        peft_model = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(str(folder)), str(out)
        ).eval()
        a = peft_model(input_ids=ids).logits
        b = AutoModelForCausalLM.from_pretrained(str(merged)).eval()(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(str(folder)).eval()(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-3)
    assert not torch.allclose(a, base, atol=1e-2)


def test_resume_continues_from_checkpoint(tmp_path: Path) -> None:
    from transformers import TrainerCallback

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise RuntimeError("simulated crash")

    cfg = _cfg("sft", tmp_path, max_steps=4, save_steps=2, lora_enabled=True, eval_fraction=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_stage(cfg, callbacks=[Crash()])
    out = Path(cfg.out)
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    assert not (out / "manifest.json").exists()
    from valuealign.errors import UserError

    with pytest.raises(UserError, match="add --resume"):
        run_stage(cfg)
    manifest = run_stage(cfg, resume=True)
    assert manifest["resumed_from"] == "checkpoint-2"
    assert manifest["global_step"] == 4
    assert [h["step"] for h in manifest["loss_history"]][-2:] == [3, 4]
    with pytest.raises(UserError, match="already here"):
        run_stage(cfg)


def test_cpt_on_text_and_on_packed_shards(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = tmp_path / "corpus.txt"
    text.write_text(
        "\n\n".join(
            f"Paragraph {i}: the river crosses the valley and feeds the fields." for i in range(20)
        )
    )
    cfg = _cfg("cpt", tmp_path, data=[str(text)], max_steps=2, batch_size=2, eval_fraction=0)
    manifest = run_stage(cfg)
    assert manifest["global_step"] == 2 and manifest["outputs"]["model"] == cfg.out
    assert (Path(cfg.out) / "model.safetensors").exists()
    # a curation output folder: its packed shards are used as they are
    cur = tmp_path / "curated-run"
    (cur / "packed").mkdir(parents=True)
    (cur / "packed" / "meta.json").write_text(json.dumps({"tokenizer": BASE, "seq_len": 32}))
    rows = [{"input_ids": list(range(100 + i, 132 + i))} for i in range(8)]
    pq.write_table(pa.Table.from_pylist(rows), cur / "packed" / "shard-00000.parquet")
    cfg2 = _cfg(
        "cpt",
        tmp_path,
        data=[str(cur)],
        out=str(tmp_path / "cpt2"),
        max_steps=2,
        batch_size=2,
        eval_fraction=0,
        lora_enabled=True,
    )
    m2 = run_stage(cfg2)
    assert any("packed shard" in n for n in m2["notes"])
    assert m2["train_rows"] == 8


def test_chain_runs_three_stages(tmp_path: Path) -> None:
    sft = _tiny_sft(tmp_path / "tiny.jsonl")
    text = tmp_path / "c.txt"
    text.write_text("\n\n".join(f"Text number {i} about rivers and hills." for i in range(12)))
    chain = tmp_path / "chain.yaml"
    common = "seq_len: 64\n  batch_size: 2\n  max_steps: 1\n  drift: false\n  eval_fraction: 0\n"
    chain.write_text(
        f"model: {BASE}\nout: {tmp_path / 'run'}\n"
        f"cpt:\n  data: [{text}]\n  lora: {{enabled: true, r: 4}}\n  {common}"
        f"sft:\n  data: [{sft}]\n  lora: {{enabled: true, r: 4}}\n  {common}"
        f"adversarial:\n  data: [{sft}]\n  sft_mix: {{data: [{sft}], ratio: 0.5}}\n  {common}"
    )
    from valuealign.train import run_chain

    _, stages = load_chain_config(chain)
    manifests = run_chain(stages)
    assert [m["stage"] for m in manifests] == ["cpt", "sft", "adversarial"]
    assert (tmp_path / "run" / "cpt" / "merged" / "model.safetensors").exists()
    assert manifests[1]["base_model"].endswith(str(Path("cpt") / "merged"))
    assert manifests[2]["train_rows"] == 24  # 12 pairs + the same number of SFT rows (ratio 0.5)
    # a rerun with resume skips what is finished
    again = run_chain(stages, resume=True)
    assert [m["wall_seconds"] for m in again] == [m["wall_seconds"] for m in manifests]


def _rewriter_rows(path: Path, target: str = "tradition=+1") -> Path:
    answers = [
        "You could visit your grandparents for the festival. The train takes 3 hours.",
        "Skipping one dinner is fine. Tell your family early so they can plan.",
    ]
    with path.open("w", encoding="utf-8") as f:
        for a in answers:
            prompt = [{"role": "user", "content": f"Rewrite to honour tradition more: {a}"}]
            row = {"prompt": prompt, "original": a, "target": target, "language": "en"}
            f.write(json.dumps(row) + "\n")
    return path


def test_grpo_rewriter_step(tmp_path: Path) -> None:
    from valuealign.train.rewriter import load_rewriter_config, run_rewriter

    cfg = load_rewriter_config(
        None,
        {
            "model": BASE,
            "data": [str(_rewriter_rows(tmp_path / "rw.jsonl"))],
            "out": str(tmp_path / "rw"),
            "batch_size": 2,
            "num_generations": 2,
            "max_completion_length": 12,
            "max_steps": 1,
            "logging_steps": 1,
            "drift": False,
        },
    )
    manifest = run_rewriter(cfg)
    assert manifest["global_step"] == 1
    logged = manifest["reward_history"][0]
    assert "rewards/visa_value_precision/mean" in logged and "reward" in logged
    assert (tmp_path / "rw" / "adapter_model.safetensors").exists()


def test_rewriter_bad_input_exit_2(tmp_path: Path, cli) -> None:
    from valuealign.train.rewriter import load_rewriter_config

    data = _rewriter_rows(tmp_path / "rw.jsonl")
    assert load_rewriter_config(None, {"data": [str(data)], "out": "o"}).num_generations == 4
    cfg = tmp_path / "r.yaml"
    cfg.write_text(f"data: [{data}]\nout: {tmp_path / 'o2'}\nbatch_size: 3\nnum_generations: 2\n")
    code, _, err = cli("train", "rewriter", "--config", str(cfg))
    assert code == 2 and "multiple of num_generations" in err
    cfg.write_text(f"data: [{data}]\nout: {tmp_path / 'o3'}\nreward:\n  weights: {{valu: 1}}\n")
    code, _, err = cli("train", "rewriter", "--config", str(cfg))
    assert code == 2 and "unknown reward weight(s): valu" in err
    bad = _rewriter_rows(tmp_path / "bad.jsonl", target="tradishun=+1")
    code, _, err = cli("train", "rewriter", "--data", str(bad), "--out", str(tmp_path / "o4"))
    assert code == 2 and "row 1" in err and "tradishun" in err
    assert not (tmp_path / "o4").exists()
