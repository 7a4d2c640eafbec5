"""The hf backend with the real embedded SmolLM2 model (short generations)."""

import asyncio

import pytest

from valuealign.backends import GenerateConfig, get_backend, user
from valuealign.backends.hf import HFBackend
from valuealign.errors import UserError


def test_generates_real_text(smollm: HFBackend) -> None:
    c = asyncio.run(
        smollm.generate(user("What is the capital of France?"), GenerateConfig(max_tokens=12))
    )
    assert "Paris" in c.text
    assert c.prompt_tokens > 5 and 0 < c.completion_tokens <= 12
    assert c.finish_reason in {"stop", "length"} and c.model == "hf/smollm2-135m-instruct"


def test_concurrent_requests_are_batched(smollm: HFBackend) -> None:
    questions = ["What is the capital of France?", "What is 2 + 2?", "法国的首都是哪里？"]
    calls = []
    original = smollm.generate_batch

    def spy(batch, config):
        calls.append(len(batch))
        return original(batch, config)

    smollm.generate_batch = spy
    try:

        async def run():
            return await asyncio.gather(
                *[smollm.generate(user(q), GenerateConfig(max_tokens=10)) for q in questions]
            )

        results = asyncio.run(run())
    finally:
        del smollm.generate_batch
    assert calls == [3]
    assert "Paris" in results[0].text
    assert all(r.text for r in results)


def test_stop_strings_and_sampling(smollm: HFBackend) -> None:
    cfg = GenerateConfig(max_tokens=12, stop=("Paris",))
    c = asyncio.run(smollm.generate(user("What is the capital of France?"), cfg))
    assert "Paris" not in c.text and c.finish_reason == "stop"
    sampled = [
        asyncio.run(
            smollm.generate(
                user("Tell me a word."), GenerateConfig(max_tokens=8, temperature=1.0, seed=s)
            )
        )
        for s in (1, 1)
    ]
    assert sampled[0].text == sampled[1].text  # same seed, same sample


def test_token_logprobs_and_perplexity(smollm: HFBackend) -> None:
    text = "Paris is the capital of France."
    lps = smollm.token_logprobs(text)
    assert len(lps) == len(smollm.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert all(t.logprob <= 0 for t in lps)
    assert "".join(t.token for t in lps) == text
    assert smollm.perplexity(text) < smollm.perplexity("capital France the Paris of is.")
    ctx = user("What is the capital of France?")
    assert smollm.perplexity("The capital of France is Paris.", ctx) < smollm.perplexity(
        "The capital of France is Rome.", ctx
    )


def test_logprobs_on_request(smollm: HFBackend) -> None:
    c = asyncio.run(smollm.generate(user("Say hi."), GenerateConfig(max_tokens=5, logprobs=True)))
    assert c.logprobs and all(t.logprob <= 0 for t in c.logprobs)


def test_bad_model_and_adapter_paths(tmp_path) -> None:
    with pytest.raises(UserError, match="neither an embedded name"):
        get_backend("hf/no-such-model").load()
    with pytest.raises(UserError, match=r"no adapter_config\.json"):
        get_backend("hf/smollm2-135m-instruct", adapter=str(tmp_path)).load()


def test_peft_adapter_is_applied(smollm: HFBackend, tmp_path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from valuealign.backends.hf import resolve_model_path

    base = AutoModelForCausalLM.from_pretrained(str(resolve_model_path("smollm2-135m-instruct")))
    peft_model = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    with_adapter = get_backend("hf/smollm2-135m-instruct", adapter=str(tmp_path / "adapter"))
    cfg = GenerateConfig(max_tokens=8)
    a = asyncio.run(with_adapter.generate(user("What is the capital of France?"), cfg))
    b = asyncio.run(smollm.generate(user("What is the capital of France?"), cfg))
    assert isinstance(with_adapter.model, PeftModel)
    assert a.text == b.text  # a fresh LoRA (B = 0) does not change greedy output


def test_gemma_base_model_answers_in_both_languages() -> None:
    gemma = get_backend("hf/gemma3-270m")
    cfg = GenerateConfig(max_tokens=12)
    en = asyncio.run(gemma.generate(user("What is the capital of France?"), cfg))
    zh = asyncio.run(gemma.generate(user("法国的首都是哪里？"), cfg))
    assert not gemma.is_chat_model
    assert "Paris" in en.text and "巴黎" in zh.text


def test_missing_extra_names_the_install_line(cli, monkeypatch) -> None:
    import importlib.util

    import valuealign.backends.hf as hf

    real = importlib.util.find_spec
    monkeypatch.setattr(
        hf.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    code, _, err = cli("chat", "--model", "hf/smollm2-135m-instruct", "hi")
    assert code == 2
    assert "pip install 'valuealign[train]'" in err and "torch" in err


def test_choice_logprobs_prefers_the_right_answer(smollm: HFBackend) -> None:
    msgs = user("What is the capital of France? Answer with one word.")
    lp = smollm.choice_logprobs(msgs, "The capital of France is", [" Paris", " Berlin", " Madrid"])
    assert set(lp) == {" Paris", " Berlin", " Madrid"} and all(v <= 0 for v in lp.values())
    assert max(lp, key=lp.get) == " Paris"
