"""Fact keeping: numbers, names and key phrases that survive a rewrite, and novel ones (zh + en)."""

from __future__ import annotations

import pytest

from valuealign.values import FactReport, extract_facts, fact_keeping

EN = (
    "In 2014, the World Health Organization said 1,200 people in Sierra Leone were infected, "
    "about 3.5% of all cases. Officials in Geneva urged NATO and Médecins Sans Frontières to "
    "help. Vaccination saves lives, and vaccination campaigns need funding."
)
ZH = (
    "2014年，世界卫生组织（WHO）报告称塞拉利昂有1200人感染，约占全部病例的3.5%。"
    "报告呼吁各国加强疫苗接种，并为疫苗接种提供资金。《柳叶刀》随后发表了评论。"
)


def test_english_extraction():
    facts = extract_facts(EN)
    assert facts.numbers == ("2014", "1200", "3.5%")
    assert {"World Health Organization", "Sierra Leone", "Geneva", "NATO"} <= set(facts.names)
    assert "Médecins Sans Frontières" in facts.names
    assert "In" not in facts.names and "Officials" not in facts.names  # sentence starts
    assert facts.phrases[0] == "vaccination"  # the most frequent content word comes first
    assert "Mr. Smith" in extract_facts("Yesterday Mr. Smith left.").names


def test_english_rewrite_keeps_some_facts_and_invents_others():
    rewrite = (
        "The WHO reported that some 1200 people in Sierra Leone were infected in 2015. "
        "Officials in Paris praised vaccination campaigns."
    )
    report = fact_keeping(EN, rewrite)
    assert isinstance(report, FactReport) and report.language == "en"
    assert report.numbers.kept == ("1200",) and set(report.numbers.missing) == {"2014", "3.5%"}
    assert "Sierra Leone" in report.names.kept and "Geneva" in report.names.missing
    assert "vaccination" in report.phrases.kept
    assert report.novel_numbers == ("2015",)
    assert set(report.novel_names) == {"WHO", "Paris"}
    assert report.novel == ("2015", "WHO", "Paris")
    assert 0.0 < report.score < 1.0
    assert set(report.kept) | set(report.missing) == set(
        extract_facts(EN).numbers + extract_facts(EN).names + extract_facts(EN).phrases
    )


def test_identical_and_reworded_english():
    same = fact_keeping(EN, EN)
    assert same.score == 1.0 and same.novel == ()
    reworded = fact_keeping(
        "Around 1,200 people attended the meeting in Geneva.",
        "The Geneva meeting drew about 1200 attendees (people came from afar).",
    )
    assert reworded.numbers.share == 1.0 and reworded.names.share == 1.0
    assert fact_keeping("It is good to be kind.", "Kindness is good.").names.share is None
    assert fact_keeping("", "Anything at all, 42.").score == 1.0  # nothing to keep


def test_chinese_extraction_and_keeping():
    facts = extract_facts(ZH)
    assert facts.numbers == ("2014", "1200", "3.5%")
    assert set(facts.names) == {"柳叶刀", "WHO"}
    assert "疫苗接种" in facts.phrases and "报告" in facts.phrases  # repeated n-grams

    rewrite = "世卫组织（WHO）称塞拉利昂约有1200人感染。报告呼吁加强疫苗接种。《自然》杂志于2016年发表了评论。"
    report = fact_keeping(ZH, rewrite)
    assert report.language == "zh"
    assert report.numbers.kept == ("1200",) and report.numbers.missing == ("2014", "3.5%")
    assert report.names.kept == ("WHO",) and report.names.missing == ("柳叶刀",)
    assert report.phrases.share == 1.0
    assert report.novel_numbers == ("2016",) and report.novel_names == ("自然",)
    assert report.to_json()["numbers"]["share"] == pytest.approx(1 / 3)


def test_short_chinese_text_without_repeats_uses_bigrams():
    original = "我们应当尊重祖先留下的习俗，在节日里按照传统祭祖。"
    facts = extract_facts(original)
    assert facts.numbers == () and facts.names == ()
    assert "祖先" in facts.phrases and "习俗" in facts.phrases
    assert all(len(p) == 2 for p in facts.phrases)
    assert fact_keeping(original, original).score == 1.0
    unrelated = fact_keeping(original, "今天天气很好，我们去公园散步吧。")
    assert unrelated.phrases.share == 0.0


def test_full_width_digits_and_explicit_language():
    report = fact_keeping("会议有１２００人参加。", "会议有1200人参加。", language="zh")
    assert report.numbers.kept == ("1200",)
    assert fact_keeping("3 cats", "3 cats", language="en-GB").language == "en"
