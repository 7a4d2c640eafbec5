"""The semantic-to-value translator: persona text -> value target, value gap -> instruction.

Two directions, both bilingual (zh/en):

* **Persona -> target.** "answer as someone who prizes tradition and security" (or
  "请以一个重视传统与安全的人的口吻回答") becomes a :class:`ValueTarget` with tradition and security
  at +1 and every other value unconstrained. :func:`translate_persona` does it with rules: value
  names, ids and a few synonyms per value in both languages, with negation ("not", "less",
  "doesn't care about", "不", "少", "而不是" -> -1) scoped to a clause and to a list of values that
  follow it ("not power or wealth"), and hedges ("somewhat", "有点" -> 0.5). Explicit syntax
  (``tradition=+1,security=+1``) passes straight to :meth:`ValueTarget.parse`.
  :class:`LLMTranslator` asks a backend for a JSON object instead, parses it strictly and re-asks
  (via :func:`~valuealign.judging.ask_until_parsed`) when the reply does not parse.
* **Gap -> instruction.** :func:`gap_instruction` turns "target minus detected" on the
  constrained values into one concrete rewrite instruction built from the values' definitions
  ("Rewrite the answer so that it puts more weight on respecting, cherishing and accepting the
  customs ... (Tradition); keep all facts, numbers and names ...").

>>> t = translate_persona("someone who values freedom, not conformity")
>>> t.to_dict()
{'self-direction': 1.0, 'conformity': -1.0}
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from valuealign.backends import ChatBackend, Message
from valuealign.errors import BackendError, UserError
from valuealign.judging import ask_until_parsed
from valuealign.lang import cjk_share, fold_language, language_of
from valuealign.visa._values import Taxonomy, ValueTarget, get_taxonomy

__all__ = [
    "LLMTranslator",
    "describe_target",
    "gap_instruction",
    "is_explicit_target",
    "resolve_target",
    "translate_persona",
]

# Terms per basic value: (en terms, zh terms). English terms match from a word start; a trailing
# "*" matches any word ending, otherwise an optional plural s/es. Chinese terms are substrings.
_SYNONYMS: dict[str, tuple[str, str]] = {
    "self-direction": (
        "self-direct* | self direction | independen* | autonom* | freedom | free-thinking"
        " | free spirit* | creativ* | curiosity | curious | individualis* | self-relian*"
        " | think for themselves | own judgement | own judgment",
        "自主 自我导向 独立 自由 创造 创新 好奇 个性 独立思考",
    ),
    "stimulation": (
        "stimulat* | excit* | adventur* | novelty | thrill* | daring | variety | risk-tak*"
        " | challenge* | new experiences",
        "刺激 冒险 新奇 新鲜感 挑战 激情 兴奋 探险",
    ),
    "hedonism": (
        "hedonis* | pleasur* | enjoy* | fun | fun-loving | comfort* | indulg* | sensual"
        " | good life | treat themselves",
        "享乐 享受 快乐 乐趣 舒适 及时行乐",
    ),
    "achievement": (
        "achiev* | ambitio* | success* | competen* | accomplish* | excellence | career*"
        " | getting ahead | high-achiev*",
        "成就 成功 雄心 抱负 上进 出人头地 事业 进取",
    ),
    "power": (
        "power* | wealth* | rich | riches | money | status | prestig* | dominan* | dominat*"
        " | authority | control over | social standing | influence over",
        "权力 权威 财富 金钱 地位 声望 支配 面子 权势",
    ),
    "security": (
        "secur* | safety | safe | stabil* | stable | law and order | social order"
        " | public order | certainty | caution* | cautious | risk-averse | protection"
        " | social harmony | health*",
        "安全 稳定 秩序 安定 保障 谨慎 平安 社会和谐 安稳",
    ),
    "conformity": (
        "conformi* | obedien* | obey* | rule-follow* | follow* the rules | self-disciplin*"
        " | disciplin* | polite* | propriety | social norms | good manners | dutiful",
        "遵从 服从 顺从 盲从 守规矩 规矩 纪律 规范 听话 礼貌 自律 循规蹈矩",
    ),
    "tradition": (
        "tradition* | custom | customs | customary | heritage | religio* | faith* | devout*"
        " | piety | pious | ancest* | humility | humble | conservative* | time-honou?red",
        "传统 习俗 风俗 宗教 信仰 祖先 传承 谦逊 文化遗产 保守 老规矩",
    ),
    "benevolence": (
        "benevolen* | kindness | kind-hearted | caring | care for others | cares for others"
        " | compassion* | helpful* | loyal* | honest* | forgiv* | generous | generosity"
        " | family | friendship* | warm-hearted",
        "仁爱 善良 关爱 关心他人 照顾 忠诚 诚实 宽恕 家人 友谊 帮助 慷慨 善意 体贴",
    ),
    "universalism": (
        "universalis* | equality | equal rights | fairness | justice | toleran* | open-minded*"
        " | broad-minded* | diversity | inclusi* | human rights | environment* | nature"
        " | peace* | cosmopolitan* | social justice",
        "普世 平等 公平 正义 包容 宽容 多元 人权 环保 环境 大自然 和平 开放",
    ),
}
# Words that signal the opposite of a value (each counts as that value at -1).
_ANTONYMS: dict[str, tuple[str, str]] = {
    "conformity": ("rebel* | non-conformi* | nonconformi* | unconventional", "叛逆 我行我素"),
    "tradition": ("iconoclast* | secular* | anti-tradition*", "反传统 破除旧俗"),
    "security": ("reckless* | risk-seeking", "鲁莽 冒失"),
    "benevolence": ("selfish* | self-centred | self-centered", "自私"),
    "universalism": ("xenophob* | intoleran* | bigot*", "排外 歧视"),
    "achievement": ("unambitious | lazy", "躺平 不思进取"),
    "power": ("egalitarian*", "平起平坐"),
}

_NEGATION_EN = (
    r"\bnot\b|n't\b|\bno\b|\bnever\b|\bless\b|\bfewer\b|\bwithout\b|\bagainst\b|\brather than\b"
    r"|\binstead of\b|\banti-|\bneither\b|\bdownplay\w*|\bde-?emphasi\w*|\breject\w*|\bdismiss\w*"
    r"|\bavoid\w*|\boppos\w*|\bdisdain\w*|\bindifferent to\b|\blow on\b|(?<!\ba )\blittle\b"
    r"|\bdistrust\w*|\bskeptical of\b|\bsceptical of\b"
)
_NEGATION_ZH = r"不|没有|没|无|别|莫|少|反对|轻视|淡化|减少|弱化|而非|非|忽视|排斥|拒绝|鄙视"
_NOT_NEGATION = re.compile(
    r"\bnot only\b|\bno doubt\b|\bno matter\b|\bnevertheless\b"
    r"|不仅|不只|不但|不光|不断|不同|不错|不少|至少|多少|少年|年少|无论|并非不|非常|不管",
    re.IGNORECASE,
)
_RESET = re.compile(
    r"\bmore\b|\bbut\b|\byet\b|\brather\b(?! than)|\binstead\b(?! of)|\bhowever\b|\bwhile\b"
    r"|\bwhereas\b|而是|更|多|但|却|反而|然而",
    re.IGNORECASE,
)
_NEGATION = re.compile(f"{_NEGATION_EN}|{_NEGATION_ZH}", re.IGNORECASE)
_HEDGE = re.compile(
    r"\bsomewhat\b|\ba bit\b|\ba little\b|\bslightly\b|\bmoderately\b|\bfairly\b|\bmildly\b"
    r"|有点|稍微|略微|一定程度|适度|些许",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[.;!?。；！？\n:：]")
_CONNECTORS = re.compile(
    r"^(?:[\s,，、/&]|\band\b|\bor\b|\bnor\b|\bas well as\b|和|与|及|以及|或|或者|跟|还有)*$",
    re.IGNORECASE,
)
_EXPLICIT = re.compile(r"[=＝]")


@dataclass(frozen=True)
class _Term:
    pattern: re.Pattern[str]
    values: tuple[str, ...]
    sign: float
    rank: int  # 0 for the taxonomy's own names, 1 for synonyms: names win a tie


def _en_pattern(term: str) -> str:
    body = r"\s+".join(re.escape(p) for p in term.split()).replace(r"\*", r"\w*")
    body = body.replace(r"u\?", "u?")
    tail = "" if term.endswith("*") else r"(?:s|es)?\b"
    return r"\b" + body + tail


def _split_en(text: str) -> list[str]:
    return [t.strip() for t in text.split("|") if t.strip()]


@cache
def _terms(taxonomy: Taxonomy) -> tuple[_Term, ...]:
    """Every term the rule translator matches, longest first, for ``taxonomy``."""
    # (language, text, values, sign, rank)
    terms: list[tuple[str, str, tuple[str, ...], float, int]] = []
    for value in taxonomy.values:
        names = {value, value.replace("-", " "), *taxonomy.names[value].values()}
        for name in names:
            lang = "zh" if cjk_share(name) > 0 else "en"
            text = name.lower() if lang == "en" else name
            terms.append((lang, text, (value,), 1.0, 0))
    for table, sign in ((_SYNONYMS, 1.0), (_ANTONYMS, -1.0)):
        for value, (en, zh) in table.items():
            vals = taxonomy.children(value)
            if not vals:
                continue
            terms += [("en", t, vals, sign, 1) for t in _split_en(en)]
            terms += [("zh", t, vals, sign, 1) for t in zh.split()]
    out = []
    seen: set[str] = set()
    for kind, text, vals, sign, rank in sorted(terms, key=lambda t: -len(t[1])):
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        pattern = _en_pattern(text) if kind == "en" else re.escape(text)
        out.append(_Term(re.compile(pattern, re.IGNORECASE), vals, sign, rank))
    return tuple(out)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    values: tuple[str, ...]
    sign: float
    rank: int


def _find_terms(text: str, taxonomy: Taxonomy) -> list[_Match]:
    found: list[_Match] = []
    for term in _terms(taxonomy):
        for m in term.pattern.finditer(text):
            found.append(_Match(m.start(), m.end(), term.values, term.sign, term.rank))
    found.sort(key=lambda m: (m.start, -(m.end - m.start), m.rank))
    kept: list[_Match] = []
    end = -1
    for m in found:
        if m.start >= end:
            kept.append(m)
            end = m.end
    return kept


def _last(pattern: re.Pattern[str], text: str) -> int:
    positions = [m.start() for m in pattern.finditer(text)]
    return positions[-1] if positions else -1


def _polarity(between: str) -> tuple[float, float]:
    """(sign, strength) that the text before a value term gives it."""
    masked = _NOT_NEGATION.sub(lambda m: " " * len(m.group(0)), between)
    neg, reset = _last(_NEGATION, masked), _last(_RESET, masked)
    sign = -1.0 if neg > reset else 1.0
    strength = 0.5 if _HEDGE.search(masked) else 1.0
    return sign, strength


def is_explicit_target(text: str) -> bool:
    """True when ``text`` uses the explicit ``value=weight`` syntax."""
    return bool(_EXPLICIT.search(text))


def translate_persona(text: str, taxonomy: Taxonomy | str = "schwartz10") -> ValueTarget:
    """A persona or instruction in zh/en -> :class:`ValueTarget` (rules; see the module doc).

    Raises :class:`UserError` when the text names no value it knows.
    """
    tax = get_taxonomy(taxonomy)
    if not isinstance(text, str) or not text.strip():
        raise UserError("empty target", fix="give value=weight pairs or a persona description")
    if is_explicit_target(text):
        return ValueTarget.parse(text, tax)
    norm = unicodedata.normalize("NFKC", text)
    weights: dict[str, float] = {}
    prev: _Match | None = None
    prev_polarity = (1.0, 1.0)
    for m in _find_terms(norm, tax):
        clause_start = max((b.end() for b in _CLAUSE_BREAK.finditer(norm, 0, m.start)), default=0)
        same_clause = prev is not None and prev.end >= clause_start
        start = prev.end if same_clause and prev is not None else clause_start
        between = norm[start : m.start]
        if same_clause and _CONNECTORS.match(between):
            sign, strength = prev_polarity
        else:
            sign, strength = _polarity(between)
        for value in m.values:
            weights[value] = sign * m.sign * strength
        prev, prev_polarity = m, (sign, strength)
    if not weights:
        raise UserError(
            f"no value found in the target {text!r}",
            fix="name values (e.g. 'someone who prizes tradition and security') or write "
            f"value=weight pairs; values: {', '.join(tax.values)}",
        )
    return ValueTarget.from_dict(weights, tax)


# ---------------------------------------------------------------------------------------------
# LLM translator
# ---------------------------------------------------------------------------------------------

_LLM_TEMPLATE = {
    "en": (
        "Map the persona or instruction below to a value profile over these values:\n{values}\n\n"
        "Persona or instruction:\n<persona>\n{persona}\n</persona>\n\n"
        "Give a weight in [-1, 1] only for the values the persona clearly speaks to: +1 means "
        "the persona strongly favours the value, -1 that it rejects it, 0.5 or -0.5 a milder "
        "leaning. Leave every other value out. Reply with one JSON object and nothing else, "
        'for example {{"tradition": 1, "power": -0.5}}.'
    ),
    "zh": (
        "请把下面的人设或指令映射到以下价值维度上的价值取向：\n{values}\n\n"
        "人设或指令：\n<persona>\n{persona}\n</persona>\n\n"
        "只对人设明确涉及的价值给出 [-1, 1] 之间的权重：+1 表示非常看重，-1 表示排斥，0.5 或 -0.5 "
        "表示较弱的倾向。其余价值一律不写。只回复一个 JSON 对象，不要写其他内容，"
        '例如 {{"tradition": 1, "power": -0.5}}。'
    ),
}


def _json_objects_from_end(text: str) -> list[object]:
    """JSON objects in ``text``, the last one first (balanced braces, strings respected)."""
    found: list[object] = []
    decoder = json.JSONDecoder()
    for i in range(len(text) - 1, -1, -1):
        if text[i] != "{":
            continue
        try:
            obj, _ = decoder.raw_decode(text[i:])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            found.append(obj)
            break
    return found


class LLMTranslator:
    """Persona -> target by asking a backend for ``{"value": weight, ...}`` as strict JSON.

    The last JSON object of the reply must map known value names to numbers in [-1, 1] (at
    least one); anything else is a parse failure and the question is asked again, at most
    ``retries`` more times. A reply that never parses raises :class:`BackendError`.
    """

    def __init__(
        self,
        backend: ChatBackend,
        taxonomy: Taxonomy | str = "schwartz10",
        *,
        retries: int = 2,
        max_tokens: int = 200,
    ) -> None:
        self.backend = backend
        self.taxonomy = get_taxonomy(taxonomy)
        self.retries = retries
        self.max_tokens = max_tokens

    def messages(self, persona: str, language: str | None = None) -> list[Message]:
        lang = language_of(persona, language, strict=False)
        values = "\n".join(
            f"- {v}: {self.taxonomy.definition(v, lang)}" for v in self.taxonomy.values
        )
        content = _LLM_TEMPLATE[lang].format(values=values, persona=persona.strip())
        return [{"role": "user", "content": content}]

    def parse(self, reply: str) -> ValueTarget | str:
        """The target in ``reply``, or a string saying why there is none."""
        objects = _json_objects_from_end(reply)
        if not objects:
            return "no JSON object in the reply"
        obj = objects[0]
        assert isinstance(obj, dict)
        if not obj:
            return "the JSON object is empty"
        try:
            return ValueTarget.from_dict(obj, self.taxonomy)
        except UserError as e:
            return e.message

    async def translate(self, persona: str, language: str | None = None) -> ValueTarget:
        if is_explicit_target(persona):
            return ValueTarget.parse(persona, self.taxonomy)
        asked = await ask_until_parsed(
            self.backend,
            self.messages(persona, language),
            self.parse,
            lambda p: isinstance(p, ValueTarget),
            max_tokens=self.max_tokens,
            retries=self.retries,
        )
        if isinstance(asked.parsed, ValueTarget):
            return asked.parsed
        raise BackendError(
            f"the translator's reply did not parse after {asked.attempts} attempts "
            f"({asked.parsed}); last reply: {asked.raw[:200]!r}",
            backend=self.backend.name,
        )


async def resolve_target(
    text: str,
    taxonomy: Taxonomy | str = "schwartz10",
    translator: LLMTranslator | None = None,
) -> ValueTarget:
    """Explicit syntax or a persona -> target, by ``translator`` when given, else by rules."""
    if translator is not None and not is_explicit_target(text):
        return await translator.translate(text)
    return translate_persona(text, taxonomy)


# ---------------------------------------------------------------------------------------------
# Gap -> instruction
# ---------------------------------------------------------------------------------------------

_INSTRUCTION = {
    "en": {
        "head": "Rewrite the answer so that it ",
        "more": "puts more weight on {definition} ({name})",
        "much_more": "puts much more weight on {definition} ({name})",
        "less": "puts less weight on {definition} ({name})",
        "much_less": "puts much less weight on {definition} ({name})",
        "join": "; ",
        "tail": (
            ". Keep all facts, numbers and names of the original; do not add new facts or names; "
            "keep the same language and about the same length. Reply with the rewritten answer "
            "only."
        ),
    },
    "zh": {
        "head": "改写这个回答，使它",
        "more": "更加重视“{definition}”（{name}）",
        "much_more": "明显更加重视“{definition}”（{name}）",
        "less": "少强调“{definition}”（{name}）",
        "much_less": "明显少强调“{definition}”（{name}）",
        "join": "；",
        "tail": (
            "。保留原回答中的所有事实、数字和名称，不要添加新的事实或名称；使用同一种语言，"
            "长度大致相同。只输出改写后的回答。"
        ),
    },
}


def _definition_phrase(taxonomy: Taxonomy, value: str, language: str) -> str:
    text = taxonomy.definition(value, language).strip().rstrip(".。")
    if language == "en" and text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def gap_instruction(
    target: ValueTarget,
    detected: Sequence[float] | np.ndarray,
    language: str = "en",
    *,
    tolerance: float = 0.0,
) -> str | None:
    """A rewrite instruction that closes ``target - detected`` on the constrained values.

    Values whose gap is within ``tolerance`` are left out, the largest gaps come first; a gap
    above 1 in size asks for "much" more or less. None when no value is off by more than
    ``tolerance``.
    """
    lang = fold_language(language, strict=False)  # lenient: English otherwise
    tax = target.taxonomy
    vec = np.asarray(detected, dtype=np.float64)
    gap = np.where(target.mask, target.vector - vec, 0.0)
    order = sorted(
        (i for i in range(len(tax)) if target.constrained[i] and abs(gap[i]) > tolerance),
        key=lambda i: -abs(gap[i]),
    )
    if not order:
        return None
    t = _INSTRUCTION[lang]
    parts = []
    for i in order:
        value = tax.values[i]
        key = (
            ("much_more" if gap[i] > 1.0 else "more")
            if gap[i] > 0
            else ("much_less" if gap[i] < -1.0 else "less")
        )
        parts.append(
            t[key].format(
                definition=_definition_phrase(tax, value, lang), name=tax.name(value, lang)
            )
        )
    return t["head"] + t["join"].join(parts) + t["tail"]


def describe_target(target: ValueTarget, language: str = "en") -> str:
    """A persona phrase for a target ("someone who puts more weight on Tradition and ...")."""
    lang = fold_language(language, strict=False)  # lenient: English otherwise
    tax = target.taxonomy
    plus = [tax.name(v, lang) for v, w in target.to_dict().items() if w > 0]
    minus = [tax.name(v, lang) for v, w in target.to_dict().items() if w < 0]
    neutral = [tax.name(v, lang) for v, w in target.to_dict().items() if w == 0]
    if lang == "zh":
        parts = []
        if plus:
            parts.append("重视" + "、".join(plus))
        if minus:
            parts.append("不看重" + "、".join(minus))
        if neutral:
            parts.append("对" + "、".join(neutral) + "保持中立")
        return "一个" + "，".join(parts) + "的人"

    def join(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    parts = []
    if plus:
        parts.append("puts much weight on " + join(plus))
    if minus:
        parts.append("puts little weight on " + join(minus))
    if neutral:
        parts.append("stays neutral about " + join(neutral))
    return "someone who " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
