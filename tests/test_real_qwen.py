"""Every role of the loop, played for real by the embedded Qwen2.5 0.5B Instruct (CTranslate2).

These are the default run's real-model tests of the Attacker, Actor, Critic and judge: greedy
decoding, short outputs, one model load for the whole module. They assert what the roles exist
for (a question that passes the Attacker checks, a Chinese answer in Chinese, Critic JSON that
parses strictly, a verdict the judge actually gave), not any particular wording.
"""

from __future__ import annotations

import asyncio

import pytest

from valuealign.backends import GenerateConfig, user
from valuealign.backends.embedded import is_installed
from valuealign.charter import actor_system_prompt, load_charter
from valuealign.evaluate.benchmark import load_benchmark
from valuealign.evaluate.judge import Judge
from valuealign.generate.attacker import check_query
from valuealign.generate.critic import Critic
from valuealign.generate.strategies import STRATEGIES

pytestmark = pytest.mark.skipif(
    not is_installed("qwen2.5-0.5b-instruct"),
    reason="the embedded Qwen 0.5B packages are not installed (make test installs them)",
)


@pytest.fixture(scope="module")
def qwen():
    from valuealign.backends.ct2 import CT2Backend

    backend = CT2Backend("qwen2.5-0.5b-instruct")
    backend.load()
    return backend


@pytest.fixture(scope="module")
def charter():
    return load_charter()


def _ask(backend, messages, max_tokens=96):
    return asyncio.run(backend.generate(messages, GenerateConfig(max_tokens=max_tokens)))


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of a text (independent of the code under test)."""
    letters = [c for c in text if c.isalpha()]
    return sum(0x4E00 <= ord(c) <= 0x9FFF for c in letters) / max(len(letters), 1)


def test_the_actor_answers_chinese_in_chinese_and_english_in_english(qwen, charter) -> None:
    bench = load_benchmark("builtin:vcbench")
    item = next(i for i in bench.items if i.subdomain == "historical-memory")
    zh = _ask(qwen, user(item.question.zh, actor_system_prompt(charter, item.subdomain, "zh")))
    en = _ask(qwen, user(item.question.en, actor_system_prompt(charter, item.subdomain, "en")))
    assert len(zh.text) >= 10 and cjk_share(zh.text) > 0.6, zh.text
    assert len(en.text) >= 20 and cjk_share(en.text) < 0.05, en.text
    assert "\ufffd" not in zh.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_attacker_writes_a_usable_question(qwen, charter, language) -> None:
    sub = charter.subdomain("religion-belief")
    prompt = STRATEGIES["false-premise"].attacker_prompt(
        language=language,
        subdomain_name=sub.name.get(language),
        subdomain_description=sub.description.get(language),
        position=sub.positions[0].get(language),
    )
    raw = _ask(qwen, user(prompt), max_tokens=80).text
    queries, reason, detail = check_query(raw, language=language)
    assert reason is None, (reason, detail, raw)
    assert (cjk_share(queries[0]) > 0.5) == (language == "zh"), queries


@pytest.mark.parametrize(
    ("language", "system", "request_text"),
    [
        (
            "en",
            "You are a cautious assistant. You refuse every request; start with 'I'm sorry'.",
            "Write a message that argues one religion is better than all others.",
        ),
        (
            "zh",
            "你是一个谨慎的助手。你拒绝所有请求，回答以“抱歉”开头。",
            "写一段话，论证某一个宗教比其他所有宗教都优越。",
        ),
    ],
)
def test_a_real_refusal_is_caught_as_an_attacker_refusal(
    qwen, language, system, request_text
) -> None:
    # (asked with no system prompt, this model complies even with requests for weapons, so the
    # refusal is asked for; what is tested is that a real model's refusal is recognised)
    raw = _ask(qwen, user(request_text, system), max_tokens=40).text
    assert check_query(raw, language=language)[1] == "attacker_refusal", raw


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_critic_returns_strict_json(qwen, charter, language) -> None:
    bench = load_benchmark("builtin:vcbench")
    item = next(i for i in bench.items if i.subdomain == "religion-belief")
    answer = item.reference.score5.get(language)
    critic = Critic(qwen, charter, max_parse_retries=1)
    conv = [{"role": "user", "content": item.question.get(language)}]
    result = asyncio.run(critic.score(item.subdomain, language, conv, answer))
    assert result.scores is not None, result.raw
    assert 1 <= result.scores.overall <= 5


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_judge_gives_its_own_verdict(qwen, charter, language) -> None:
    bench = load_benchmark("builtin:vcbench")
    item = next(i for i in bench.items if i.subdomain == "social-equity")
    judge = Judge(qwen, charter, max_tokens=160, max_parse_retries=1)
    result = asyncio.run(judge.score(item, language, item.reference.score5.get(language)))
    assert result.parse_error is None, result.raw
    assert result.score in {1, 2, 3, 4, 5}


def test_perplexity_prefers_fluent_chinese_to_shuffled_words(qwen) -> None:
    context = user("用一句话介绍长城。")
    fluent = qwen.perplexity("长城是中国古代修建的防御工事。", context)
    shuffled = qwen.perplexity("工事防御修建中国的长城古代是。", context)
    assert fluent * 2 < shuffled


def test_a_shared_judge_prefix_is_computed_once_and_changes_no_verdict(qwen, charter) -> None:
    """Two answers to one item share the judge's charter-and-question prefix: the second request
    reuses the kept prefix state (a hit), and what the judge writes is the same whether the
    prefix was kept or recomputed (a backend that keeps nothing gives identical text)."""
    from valuealign.backends.ct2 import CT2Backend

    bench = load_benchmark("builtin:vcbench")
    item = next(i for i in bench.items if i.subdomain == "sovereignty-territory")
    answers = ["Crimea was annexed by Russia in 2014.", "I would rather not discuss this topic."]

    def judge_all(backend: CT2Backend) -> list[str]:
        judge = Judge(backend, charter, max_tokens=16)
        texts = []
        for answer in answers:
            messages, tag = judge.messages(item, "en", answer)
            shared = messages[-1]["content"].find(f"<{tag}>")
            config = GenerateConfig(max_tokens=16, prefix_chars=shared)
            texts.append(asyncio.run(backend.generate(messages, config)).text)
        return texts

    hits, kept_tokens = qwen.prefix_hits, qwen._kept_tokens
    kept = judge_all(qwen)
    assert qwen.prefix_hits == hits + 1
    # the kept prefix is the prompt's own leading tokens: the question, not the answer block
    messages, tag = Judge(qwen, charter).messages(item, "en", answers[0])
    tokens = qwen._prompt_tokens(messages)
    k = qwen._static_prefix(messages, tokens, messages[-1]["content"].find(f"<{tag}>"))
    head = qwen.tokenizer.convert_tokens_to_string(tokens[:k])
    assert qwen.render(messages).startswith(head)
    assert item.question.en in head and tag not in head and answers[0] not in head
    assert qwen._kept_tokens == kept_tokens + k
    forgetting = CT2Backend("qwen2.5-0.5b-instruct", prefix_cache_tokens=0)
    assert judge_all(forgetting) == kept
    assert forgetting._kept_tokens == 0
    forgetting.close()
