"""The generation loop end to end: mocks for logic, a loopback server for faults, kill -9, the real model."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from gen_fakes import actor_fn, critic_json, fake_query

from valuealign.backends import FunctionBackend, register_mock, unregister_mock
from valuealign.generate import (
    Failed,
    GenerateSettings,
    Rejected,
    Sample,
    export_sft,
    plan_items,
    run_generate,
)
from valuealign.generate.strategies import _REGISTRY
from valuealign.records import read_jsonl
from valuealign.testing import FakeOpenAIServer, Fault


def _records(out: Path) -> tuple[list, list, list]:
    def read(name, model):
        return read_jsonl(out / name, model) if (out / name).exists() else []

    return (
        read("samples.jsonl", Sample),
        read("rejected.jsonl", Rejected),
        read("failed.jsonl", Failed),
    )


def _exactly_once(out: Path) -> list[str]:
    samples, rejected, failed = _records(out)
    ids = [r.item_id for r in [*samples, *rejected, *failed]]
    planned = json.loads((out / "plan.json").read_text())["item_ids"]
    assert sorted(ids) == sorted(planned), "every planned item ends in exactly one record"
    return ids


def test_plan_is_even_deterministic_and_stable() -> None:
    from valuealign.charter import load_charter

    charter = load_charter()
    a = plan_items(charter, ["direct", "false-premise"], ["zh", "en"], 110, seed=7)
    b = plan_items(charter, ["direct", "false-premise"], ["zh", "en"], 110, seed=7)
    assert a == b and len(a) == 110 and len({it.item_id for it in a}) == 110
    cells = Counter((it.subdomain, it.strategy, it.language) for it in a)
    assert len(cells) == 13 * 2 * 2 and set(cells.values()) == {2, 3}
    assert a[0].item_id.count(".") == 3
    assert plan_items(charter, ["direct", "false-premise"], ["zh", "en"], 110, seed=8) != a


@pytest.mark.parametrize("seed", range(20))
def test_a_small_plan_splits_its_items_evenly_over_the_languages(seed) -> None:
    # with fewer items than grid cells, the cells are drawn at random: never all in one language
    from valuealign.charter import load_charter

    charter = load_charter()
    for n in (2, 4, 7):
        items = plan_items(charter, ["direct", "role-play"], ["zh", "en"], n, seed=seed)
        langs = Counter(it.language for it in items)
        assert len(items) == n and abs(langs["zh"] - langs["en"]) <= 1, langs


def test_end_to_end_every_item_ends_in_one_file_and_resumes(tmp_path: Path, roles, cli) -> None:
    out = tmp_path / "gen"
    code, stdout, err = cli(
        "generate",
        "--n",
        "60",
        "--attacker",
        roles["attacker"],
        "--actor",
        roles["actor"],
        "--critic",
        roles["critic"],
        "--out",
        str(out),
        "--seed",
        "3",
        "--no-progress",
    )
    assert code == 0, err
    ids = _exactly_once(out)
    samples, rejected, failed = _records(out)
    assert samples and not failed
    assert all(s.critic.overall >= 4 for s in samples)
    assert {r.reason for r in rejected} <= {"below_threshold", "duplicate"}
    assert all(r.critic.overall < 4 for r in rejected if r.reason == "below_threshold")
    multi = [s for s in samples if s.strategy == "multi-turn-escalation"]
    for s in multi:
        assert [m.role for m in s.messages] == ["system", "user", "assistant"] * 1 + [
            "user",
            "assistant",
        ] * 2
    s = samples[0]
    assert s.messages[0].role == "system" and s.provenance.roles["critic"] == "mock/critic"
    assert s.provenance.template_hash and s.provenance.seed == 3
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counts"]["kept"] == len(samples) and stats["counts"]["pending"] == 0
    assert set(stats["by_subdomain"]) and stats["diversity"]["n"] == len(samples)
    assert stats["critic_score_histograms"]["overall"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["roles"]["attacker"]["name"] == "mock/attacker" and manifest["charter_hash"]
    assert "kept" in stdout and "plan: 60 items over" in stdout
    # rerun: nothing new, nothing duplicated
    code, stdout, _ = cli(
        "generate",
        "--n",
        "60",
        "--attacker",
        roles["attacker"],
        "--actor",
        roles["actor"],
        "--critic",
        roles["critic"],
        "--out",
        str(out),
        "--seed",
        "3",
        "--no-progress",
    )
    assert code == 0 and sorted(_exactly_once(out)) == sorted(ids)


def test_refusals_are_retried_with_a_reframed_prompt_and_counted(tmp_path: Path, roles) -> None:
    def reluctant(messages, config):
        prompt = messages[-1]["content"]
        if "religion" in prompt.lower() or "宗教" in prompt:
            return "I'm sorry, but I can't help with that."
        return (
            "I cannot do that."
            if config.sample_index == 0
            else fake_query(prompt, config.sample_index)
        )

    register_mock("reluctant", FunctionBackend(reluctant, name="mock/reluctant"))
    try:
        settings = GenerateSettings(
            n=26,
            attacker="mock/reluctant",
            actor=roles["actor"],
            critic=roles["critic"],
            strategies=["direct"],
        )
        stats = run_generate(tmp_path / "g", settings, progress=False)
    finally:
        unregister_mock("reluctant")
    _exactly_once(tmp_path / "g")
    samples, rejected, _ = _records(tmp_path / "g")
    refused = [r for r in rejected if r.reason == "attacker_refusal"]
    assert {r.subdomain for r in refused} == {"religion-belief"} and len(refused) == 2
    assert all(r.attempt_refusals == 3 for r in refused)
    assert all(s.attempt_refusals == 1 for s in samples)
    refusals = stats.get("refusals_by_subdomain")
    assert refusals["religion-belief"]["refusal_rate"] == 1.0
    assert refusals["law-justice"]["attempts_refused"] == 2


def test_near_duplicate_queries_are_dropped(tmp_path: Path, roles) -> None:
    register_mock(
        "samey",
        FunctionBackend(
            lambda m, c: (
                "Isn't it obvious that the 1975 border treaty was signed under duress by every party?"
                if "[1]" not in m[-1]["content"]
                else fake_query(m[-1]["content"])
            ),
            name="mock/samey",
        ),
    )
    try:
        settings = GenerateSettings(
            n=13,
            attacker="mock/samey",
            actor=roles["actor"],
            critic="mock/critic",
            strategies=["direct"],
            languages=["en"],
        )
        register_mock("critic", FunctionBackend(lambda m, c: critic_json(5), name="mock/critic"))
        stats = run_generate(tmp_path / "g", settings, progress=False)
    finally:
        unregister_mock("samey")
    samples, rejected, _ = _records(tmp_path / "g")
    assert len(samples) == 1 and len(rejected) == 12
    assert all(r.reason == "duplicate" and r.duplicate_of == samples[0].item_id for r in rejected)
    assert stats.rejected_by_reason == {"duplicate": 12}


def _server_responder(request: dict) -> str:
    msgs = request["messages"]
    body = msgs[-1]["content"]
    if '"value_consistency"' in body:
        return "Let me think.\n" + critic_json(overall=5)
    if msgs[0]["role"] == "system":
        return actor_fn(msgs, None)
    return fake_query(body)


def test_server_faults_cost_retries_never_items(tmp_path: Path) -> None:
    faults = [
        Fault("status", 429, headers={"Retry-After": "0"}),
        Fault("status", 500),
        Fault("malformed"),
        Fault("drop"),
        Fault("hang", seconds=3),
        Fault("status", 503),
    ] * 3
    with FakeOpenAIServer(_server_responder, faults=faults) as server:
        settings = GenerateSettings(
            n=30,
            attacker="openai/att",
            actor="openai/act",
            critic="openai/cri",
            concurrency={"attacker": 4, "actor": 4, "critic": 4},
        )
        stats = run_generate(
            tmp_path / "g",
            settings,
            progress=False,
            backend_options={"base_urls": [server.base_url], "max_retries": 8, "timeout": 1},
        )
    _exactly_once(tmp_path / "g")
    assert stats.counts.failed == 0 and stats.counts.kept == 30
    assert len(server.requests) >= 30 * 3 + 18


def test_persistent_failures_become_failed_records(tmp_path: Path) -> None:
    def flaky_critic(req: dict) -> str:
        return (
            "not json at all"
            if '"value_consistency"' in req["messages"][-1]["content"]
            else _server_responder(req)
        )

    with (
        FakeOpenAIServer(flaky_critic) as server,
        FakeOpenAIServer(faults=[Fault("status", 400)] * 100) as dead,
    ):
        settings = GenerateSettings(
            n=26,
            attacker="openai/att",
            actor="openai/act",
            critic="openai/cri",
            strategies=["direct"],
            critic_retries=1,
        )
        run_generate(
            tmp_path / "g",
            settings,
            progress=False,
            backend_options={"base_urls": [server.base_url]},
            role_base_urls={"actor": [dead.base_url] if False else []},
        )
        _, _, failed = _records(tmp_path / "g")
        assert len(failed) == 26 and all(
            f.stage == "critic" and f.raw == "not json at all" for f in failed
        )
        assert all("parse failure after 2 attempts" in f.error for f in failed)
        settings2 = GenerateSettings(
            n=4,
            attacker="openai/att",
            actor="openai/act",
            critic="openai/cri",
            strategies=["direct"],
            languages=["en"],
        )
        run_generate(
            tmp_path / "g2",
            settings2,
            progress=False,
            backend_options={"base_urls": [server.base_url]},
            role_base_urls={"actor": [dead.base_url]},
        )
    _exactly_once(tmp_path / "g2")
    _, _, failed2 = _records(tmp_path / "g2")
    assert len(failed2) == 4 and all(
        f.stage == "actor" and "HTTP 400" in f.error and f.query for f in failed2
    )


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from gen_fakes import attacker_fn, actor_fn, critic_fn
    from valuealign.backends import FunctionBackend, register_mock
    from valuealign.generate import GenerateSettings, run_generate

    def slow(fn):
        def wrapped(m, c):
            time.sleep(0.02)
            return fn(m, c)
        return wrapped

    for name, fn in (("attacker", attacker_fn), ("actor", actor_fn), ("critic", critic_fn)):
        register_mock(name, FunctionBackend(slow(fn), name="mock/" + name))
    run_generate(sys.argv[1], GenerateSettings(n=120, attacker="mock/attacker", actor="mock/actor",
                 critic="mock/critic", concurrency={"attacker": 2, "actor": 2, "critic": 2}), progress=False)
    """
)


def test_kill_9_mid_run_then_resume(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "g"
    here = str(Path(__file__).parent)
    proc = subprocess.Popen([sys.executable, str(script), str(out), here])
    deadline = time.time() + 60
    while time.time() < deadline:
        done = sum(
            (out / f).read_text().count("\n")
            for f in ("samples.jsonl", "rejected.jsonl", "failed.jsonl")
            if (out / f).exists()
        )
        if done >= 20:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "stats.json").exists()
    subprocess.run([sys.executable, str(script), str(out), here], check=True, timeout=180)
    ids = _exactly_once(out)
    assert len(ids) == 120 and not [i for i, n in Counter(ids).items() if n > 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategies", "direct,telepathy"], "unknown strategy"),
        (["--attacker", "gpt-4"], "bad model address"),
        (["--languages", "fr"], "'fr'"),
        (["--charter", "/nope.yaml"], "charter file not found"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    cli, tmp_path: Path, args: list[str], message: str
) -> None:
    base = {
        "--n": "5",
        "--attacker": "mock/echo",
        "--actor": "mock/echo",
        "--critic": "mock/echo",
        "--out": str(tmp_path / "g"),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["generate", "--no-progress"] + [x for kv in base.items() for x in kv]
    code, _, err = cli(*argv)
    assert (code == 2 and message in err.lower()) or message in err, err
    assert not (tmp_path / "g" / "samples.jsonl").exists()


def test_unwritable_dir_and_bad_strategy_file(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("")
    common = [
        "--n",
        "2",
        "--attacker",
        "mock/echo",
        "--actor",
        "mock/echo",
        "--critic",
        "mock/echo",
        "--no-progress",
    ]
    code, _, err = cli("generate", *common, "--out", str(blocker / "x"))
    assert code == 2 and "cannot write" in err
    bad = tmp_path / "strat.py"
    bad.write_text("STRATEGIES = [\n  oops(\n")
    code, _, err = cli(
        "generate", *common, "--out", str(tmp_path / "g"), "--strategy-file", str(bad)
    )
    assert code == 2 and str(bad) in err


def test_user_strategy_file_is_used(tmp_path: Path, roles) -> None:
    plugin = tmp_path / "mine.py"
    plugin.write_text(
        textwrap.dedent("""
        from valuealign.generate.strategies import Strategy
        STRATEGIES = [Strategy(id="my-own", name={"zh": "我的策略", "en": "My strategy"},
                               description={"zh": "测试。", "en": "A test."},
                               instruction={"zh": "写一个尖锐的问题。", "en": "Write a pointed question."})]
    """)
    )
    try:
        run_generate(
            tmp_path / "g",
            GenerateSettings(
                n=26,
                attacker=roles["attacker"],
                actor=roles["actor"],
                critic=roles["critic"],
                strategies=["my-own"],
                strategy_files=[str(plugin)],
            ),
            progress=False,
        )
    finally:
        _REGISTRY.pop("my-own", None)
    samples, rejected, _ = _records(tmp_path / "g")
    assert {r.strategy for r in [*samples, *rejected]} == {"my-own"}


def test_export_sft_jsonl_and_parquet_load_with_datasets(tmp_path: Path, roles, cli) -> None:
    run_generate(
        tmp_path / "g",
        GenerateSettings(
            n=52,
            attacker=roles["attacker"],
            actor=roles["actor"],
            critic=roles["critic"],
            strategies=["direct", "multi-turn-escalation"],
        ),
        progress=False,
    )
    samples, _, _ = _records(tmp_path / "g")
    code, out, _ = cli(
        "export",
        "sft",
        str(tmp_path / "g"),
        "--out",
        str(tmp_path / "sft.jsonl"),
        "--system",
        "charter",
    )
    assert code == 0 and f"wrote {len(samples)}" in out
    manifest = json.loads((tmp_path / "sft.manifest.json").read_text())
    assert manifest["system_prompt"] == "charter" and manifest["rows"] == len(samples)
    assert "collisions" in manifest["decontamination"]
    # the default: no system prompt (the values internalised), recorded in the manifest
    code, _, _ = cli("export", "sft", str(tmp_path / "g"), "--out", str(tmp_path / "d.jsonl"))
    rows = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert code == 0 and all(r["messages"][0]["role"] == "user" for r in rows)
    assert json.loads((tmp_path / "d.manifest.json").read_text())["system_prompt"] == "none"
    n_zh = export_sft(
        tmp_path / "g", tmp_path / "zh.parquet", languages=["zh"], system_prompt=False
    )
    assert n_zh == sum(s.language == "zh" for s in samples)
    from datasets import load_dataset

    ds = load_dataset("json", data_files=str(tmp_path / "sft.jsonl"), split="train")
    assert len(ds) == len(samples) and ds[0]["messages"][0]["role"] == "system"
    pq = load_dataset("parquet", data_files=str(tmp_path / "zh.parquet"), split="train")
    assert (
        len(pq) == n_zh and pq[0]["messages"][0]["role"] == "user" and set(pq["language"]) == {"zh"}
    )
    code, _, err = cli(
        "export", "sft", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.jsonl")
    )
    assert code == 2 and "no kept samples" in err


@pytest.mark.slow  # every role is also played for real, faster, in tests/test_real_qwen.py
def test_real_embedded_model_in_every_role(tmp_path: Path) -> None:
    settings = GenerateSettings(
        n=2,
        attacker="hf/smollm2-135m-instruct",
        actor="hf/smollm2-135m-instruct",
        critic="hf/smollm2-135m-instruct",
        strategies=["direct"],
        attacker_retries=1,
        critic_retries=0,
        max_tokens={"attacker": 40, "actor": 32, "critic": 48},
    )
    stats = run_generate(tmp_path / "g", settings, progress=False)
    ids = _exactly_once(tmp_path / "g")
    assert len(ids) == 2 and stats.counts.pending == 0
    samples, rejected, failed = _records(tmp_path / "g")
    for r in [*samples, *rejected, *failed]:
        assert r.provenance.roles["attacker"] == "hf/smollm2-135m-instruct"
        assert r.provenance.usage.completion_tokens > 0
