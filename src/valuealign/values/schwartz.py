"""Schwartz's ten basic human values, with bilingual names, definitions and keyword lexicons.

The ten values follow Shalom Schwartz's theory of basic human values. The names and one-sentence
definitions below are this project's own wording, in Simplified Chinese and English.

Each value carries a small lexicon per language: ``promote`` terms signal that a text argues for
or expresses the value, ``oppose`` terms signal that it argues against or undermines it. The
lexicons are deliberately short and transparent; they feed
:class:`valuealign.values.detector.LexiconDetector`, a presence-based baseline, not a classifier.

Lexicon term syntax:

* Chinese terms are plain substrings (Chinese has no word boundaries to anchor to).
* English terms are matched case-insensitively from a word start. A ``*`` matches any run of word
  characters (``tradition*`` matches "traditional" and "traditions"); a term that does not end in
  ``*`` must end at a word boundary and may take a plural ``s``/``es`` ("custom" matches "customs"
  but not "customer"). A space inside a term matches any run of whitespace.

>>> from valuealign.values import VALUES, VALUE_SPECS
>>> len(VALUES), VALUES[7]
(10, 'tradition')
>>> VALUE_SPECS["tradition"].name["zh"]
'传统'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from valuealign.lang import Language


@dataclass(frozen=True)
class Lexicon:
    """Keyword lists for one value in one language."""

    promote: tuple[str, ...]
    oppose: tuple[str, ...]


@dataclass(frozen=True)
class ValueSpec:
    """One Schwartz value: id, names and definitions per language, lexicons per language."""

    id: str
    name: Mapping[str, str]
    definition: Mapping[str, str]
    lexicon: Mapping[str, Lexicon]


def _zh_terms(text: str) -> tuple[str, ...]:
    """Chinese terms are written space-separated (no term contains a space)."""
    return tuple(text.split())


def _en_terms(text: str) -> tuple[str, ...]:
    """English terms are written "|"-separated (a term may contain spaces)."""
    return tuple(t.strip() for t in text.split("|") if t.strip())


def _spec(
    value_id: str,
    *,
    zh_name: str,
    en_name: str,
    zh_def: str,
    en_def: str,
    zh_promote: str,
    zh_oppose: str,
    en_promote: str,
    en_oppose: str,
) -> ValueSpec:
    return ValueSpec(
        id=value_id,
        name=MappingProxyType({"zh": zh_name, "en": en_name}),
        definition=MappingProxyType({"zh": zh_def, "en": en_def}),
        lexicon=MappingProxyType(
            {
                "zh": Lexicon(_zh_terms(zh_promote), _zh_terms(zh_oppose)),
                "en": Lexicon(_en_terms(en_promote), _en_terms(en_oppose)),
            }
        ),
    )


_SPECS: tuple[ValueSpec, ...] = (
    _spec(
        "self-direction",
        zh_name="自主",
        en_name="Self-direction",
        zh_def="按自己的判断去思考和行动，自由地选择、创造与探索。",
        en_def=(
            "Thinking and acting on one's own judgement: choosing freely, creating and exploring."
        ),
        zh_promote=(
            "独立 自主 自由选择 选择自由 自己做决定 自己决定 自我决定 独立思考 独立判断"
            " 创造 创新 好奇 探索 个人选择 自立 个性"
        ),
        zh_oppose="盲从 被迫 强迫 没有选择 依附于",
        en_promote=(
            "independen* | autonom* | freedom | free to choose | choose for themselves"
            " | choose their own | own decision* | self-determin* | creativ* | curiosity | curious"
            " | explor* | think for themselves | individual choice* | personal choice*"
            " | self-relian* | originality"
        ),
        en_oppose="blind obedience | told what to think | coerc* | forced to | no say",
    ),
    _spec(
        "stimulation",
        zh_name="刺激",
        en_name="Stimulation",
        zh_def="在生活中追求兴奋、新鲜感和挑战。",
        en_def="Seeking excitement, novelty and challenge in one's life.",
        zh_promote=(
            "冒险 刺激 新奇 新鲜感 挑战 探险 多样 变化 激情 大胆 尝试新 兴奋 惊险 新体验 多姿多彩"
        ),
        zh_oppose="单调 乏味 一成不变 枯燥 按部就班",
        en_promote=(
            "adventur* | excit* | thrill* | novelty | new experience* | novel experience*"
            " | daring | challeng* | variety | risk-taking | spontane* | bold | exhilarat*"
            " | try new things"
        ),
        en_oppose="boring | monoton* | dull | same old routine | tedious",
    ),
    _spec(
        "hedonism",
        zh_name="享乐",
        en_name="Hedonism",
        zh_def="为自己追求快乐、舒适和感官上的满足。",
        en_def="Pursuing pleasure, comfort and sensory enjoyment for oneself.",
        zh_promote=(
            "享受 快乐 快活 乐趣 享乐 开心 尽情 娱乐 纵情 满足欲望 舒适 愉悦 及时行乐 放纵 奢华"
        ),
        zh_oppose="禁欲 苦行 节制欲望 克己",
        en_promote=(
            "pleasur* | enjoy* | fun | delight* | indulg* | gratif* | luxur* | treat yourself"
            " | good time | leisure | sensual | savor* | savour* | entertain* | comfort*"
        ),
        en_oppose="self-denial | ascetic* | auster* | abstain* | deprivation",
    ),
    _spec(
        "achievement",
        zh_name="成就",
        en_name="Achievement",
        zh_def="通过展现社会所认可的能力来取得个人成功。",
        en_def="Attaining personal success by showing competence that society recognises.",
        zh_promote=(
            "成功 成就 成绩 雄心 抱负 出人头地 能力 优秀 卓越 目标"
            " 奋斗 上进 竞争 业绩 晋升 出类拔萃"
        ),
        zh_oppose="失败 平庸 不思进取 懒惰 躺平",
        en_promote=(
            "achiev* | success* | accomplish* | ambitio* | competen* | competiti* | excel*"
            " | goal* | merit* | outperform* | promotion | career* | hard work | capab*"
            " | high-perform* | win | winning"
        ),
        en_oppose="failure | mediocr* | underachiev* | lazy | laziness",
    ),
    _spec(
        "power",
        zh_name="权力",
        en_name="Power",
        zh_def="追求社会地位和声望，以及对他人与资源的支配。",
        en_def="Seeking social status and prestige, and control over people and resources.",
        zh_promote=(
            "权力 权威 支配 控制 统治 地位 威望 声望 财富 富有 发财 特权 面子 掌控 称霸 有钱 权势"
        ),
        zh_oppose="平起平坐 分权 放弃权力 无权无势",
        en_promote=(
            "power* | dominan* | dominat* | control over | authority | status | prestig*"
            " | wealth* | rich | riches | influence over | elite* | rule over | superiority"
            " | social standing | public image | privilege*"
        ),
        en_oppose="powerless* | share power | egalitarian* | flat hierarch* | equal footing",
    ),
    _spec(
        "security",
        zh_name="安全",
        en_name="Security",
        zh_def="维护自身、人际关系和社会的安全、和谐与稳定。",
        en_def="Keeping oneself, one's relationships and society safe, harmonious and stable.",
        zh_promote=(
            "安全 稳定 秩序 保障 安定 防范 治安 平安 安稳 社会和谐 风险防控 可靠 健康 保卫 保护家人"
        ),
        zh_oppose="动荡 混乱 不安全 无序 失序",
        en_promote=(
            "safe* | secur* | stabil* | stable | social order | public order | law and order"
            " | predictab* | certainty | reliab* | defen* | guard* | social harmony | health*"
            " | prevent harm"
        ),
        en_oppose="chaos | chaotic | disorder* | anarch* | reckless* | destabili* | unrest",
    ),
    _spec(
        "conformity",
        zh_name="遵从",
        en_name="Conformity",
        zh_def="约束自己可能冒犯、伤害他人或违背社会期望与规范的言行。",
        en_def=(
            "Holding back words and deeds that could upset or hurt others or break social "
            "expectations and norms."
        ),
        zh_promote=(
            "服从 听话 遵守 遵从 守规矩 规矩 规范 纪律 自律 克制 礼貌 顺从 孝顺 尊敬长辈"
            " 循规蹈矩 合群 不给别人添麻烦"
        ),
        zh_oppose="叛逆 违抗 不听话 违反规定 反抗 我行我素",
        en_promote=(
            "obey* | obedien* | comply | complian* | conform* | follow the rules | rule-follow*"
            " | self-disciplin* | self-restraint | polite* | courtes* | proper behavio*"
            " | respect for elders | respect* their elders | social norm* | fit in"
            " | good manners | defer* to"
        ),
        en_oppose="disobe* | rebel* | defian* | defy | break the rules | rule-breaking",
    ),
    _spec(
        "tradition",
        zh_name="传统",
        en_name="Tradition",
        zh_def="尊重、珍视并接纳自身文化或宗教代代相传的习俗与观念。",
        en_def=(
            "Respecting, cherishing and accepting the customs and ideas that one's culture or "
            "religion hands down."
        ),
        zh_promote=(
            "传统 习俗 风俗 祖先 祖宗 先人 祭祖 祖训 礼仪 宗教 信仰 传承 文化遗产 老规矩 祖辈"
            " 节日 谦逊 家谱 宗族"
        ),
        zh_oppose="陈规陋习 过时 破除旧俗 摒弃传统 封建迷信 反传统 老掉牙",
        en_promote=(
            "tradition* | custom | customary | ancest* | heritage | ritual* | forefather*"
            " | time-honored | time-honoured | religio* | faith | devout* | piety | pious"
            " | humble | humility | cultural root* | passed down | handed down | festival*"
        ),
        en_oppose=(
            "outdated | old-fashioned | break with tradition* | abandon* tradition* | antiquated"
            " | obsolete | superstitio*"
        ),
    ),
    _spec(
        "benevolence",
        zh_name="仁爱",
        en_name="Benevolence",
        zh_def="维护并增进身边亲近之人的福祉。",
        en_def="Protecting and improving the well-being of the people one is close to every day.",
        zh_promote=(
            "帮助 帮忙 关心 关爱 照顾 照料 善良 友善 忠诚 诚实 宽恕 原谅 友谊 互助 体贴 孝敬"
            " 赡养 奉献 慷慨 善待"
        ),
        zh_oppose="自私 背叛 冷漠 忘恩负义 不管不顾 抛弃",
        en_promote=(
            "help | helping | helped | helpful | caring | care for | take care of | look after"
            " | kindness | kind-hearted | loyal* | honest* | forgiv* | friendship* | generous"
            " | generosity | trustworth* | mutual aid | selfless* | loving"
        ),
        en_oppose="selfish* | betray* | disloyal* | dishonest* | neglect* | ungrateful",
    ),
    _spec(
        "universalism",
        zh_name="普世",
        en_name="Universalism",
        zh_def="理解、欣赏并包容所有人，守护全人类与自然的福祉。",
        en_def=(
            "Understanding, appreciating and tolerating all people, and protecting the welfare "
            "of humanity and nature."
        ),
        zh_promote=(
            "平等 公平 正义 公正 人权 包容 宽容 多元 尊重差异 和平 环境保护 保护环境 生态 大自然"
            " 可持续 所有人 人人 反对歧视 同等权利 尊严"
        ),
        zh_oppose="歧视 偏见 种族主义 排外 不平等 压迫 污染 剥削",
        en_promote=(
            "equal* | equity | justice | fairness | fair treatment | human rights | all people"
            " | tolera* | diversity | inclusi* | peace* | environment* | nature | sustainab*"
            " | climate | open-minded* | non-discriminat* | dignity | humanity | solidarity"
        ),
        en_oppose=(
            "discriminat* | racis* | xenophob* | intoleran* | bigot* | prejudic* | exploit*"
            " | pollut* | inequal* | sexis* | segregat*"
        ),
    ),
)

VALUES: tuple[str, ...] = tuple(spec.id for spec in _SPECS)
"""The ten value ids, in the order every value vector uses."""

VALUE_SPECS: Mapping[str, ValueSpec] = MappingProxyType({spec.id: spec for spec in _SPECS})
"""Value id -> :class:`ValueSpec`, in the order of :data:`VALUES`."""


def value_name(value_id: str, language: Language = "en") -> str:
    """Display name of a value in ``language`` ("zh" or "en")."""
    return VALUE_SPECS[value_id].name[language]


def value_definition(value_id: str, language: Language = "en") -> str:
    """One-sentence definition of a value in ``language`` ("zh" or "en")."""
    return VALUE_SPECS[value_id].definition[language]
