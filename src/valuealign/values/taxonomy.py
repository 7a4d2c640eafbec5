"""Value taxonomies: Schwartz's ten basic values and the refined nineteen, as one small type.

A :class:`Taxonomy` is an ordered tuple of value ids (the order every value vector uses) with a
bilingual name and one-sentence definition per value, and a ``parent`` map to the ten basic
values so that vectors over different taxonomies can be compared (:meth:`Taxonomy.project`).

* ``schwartz10``: the ten basic values of :mod:`valuealign.values.schwartz` (the default).
* ``schwartz19``: the refined theory of Schwartz et al. (2012), which splits self-direction,
  power, security, conformity, benevolence and universalism and adds face and humility. Going back
  to ten, face counts as power (its public-image item belonged to power in the original survey)
  and humility as tradition (where "humble" sat originally).

Names and definitions are this project's own wording. Value names are looked up leniently by
:meth:`Taxonomy.resolve`: case, ``_``, spaces, ``:`` and en/em dashes are folded to ``-``, and
display names in either language are accepted (``"Universalism–nature"``, ``"普世-自然"``).

>>> tax = get_taxonomy("schwartz19")
>>> len(tax), tax.index("face"), tax.parent["humility"]
(19, 7, 'tradition')
>>> tax.resolve("Universalism: Nature")
'universalism-nature'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from valuealign.errors import UserError
from valuealign.lang import fold_language
from valuealign.values.schwartz import VALUE_SPECS, VALUES

__all__ = [
    "SCHWARTZ10",
    "SCHWARTZ19",
    "TAXONOMIES",
    "Taxonomy",
    "get_taxonomy",
    "normalise_value_name",
]

_SEPARATORS = re.compile(r"[\s_:/\u2010-\u2015\u2212-]+")


def normalise_value_name(name: str) -> str:
    """NFKC-fold and lowercase ``name``, fold runs of separators (space, _, :, /, dashes) to "-"."""
    folded = unicodedata.normalize("NFKC", name).strip().lower()
    return _SEPARATORS.sub("-", folded).strip("-")


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """An ordered set of values with bilingual names and definitions.

    ``parent`` maps every value to one of Schwartz's ten basic values (identity for
    ``schwartz10``). Two taxonomies are equal when their ids are equal.
    """

    id: str
    values: tuple[str, ...]
    names: Mapping[str, Mapping[str, str]]
    definitions: Mapping[str, Mapping[str, str]]
    parent: Mapping[str, str]
    description: str = ""
    _lookup: Mapping[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for value in self.values:
            keys = {value, *self.names[value].values()}
            for key in keys:
                lookup.setdefault(normalise_value_name(key), value)
        object.__setattr__(self, "_lookup", MappingProxyType(lookup))

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.values)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self.values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Taxonomy) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("Taxonomy", self.id))

    def index(self, value: str) -> int:
        """Position of ``value`` (an id or any accepted spelling) in :attr:`values`."""
        return self.values.index(self.resolve(value))

    def find(self, name: str) -> str | None:
        """The value id that ``name`` spells, or None (see :meth:`resolve`)."""
        return self._lookup.get(normalise_value_name(name))

    def resolve(self, name: str, *, context: str = "") -> str:
        """The value id that ``name`` spells; a :class:`UserError` listing valid names if none.

        ``context`` is put in front of the message (for example ``"data.jsonl:12: "``).
        """
        found = self.find(name) if isinstance(name, str) else None
        if found is None:
            hint = ""
            other = SCHWARTZ19 if self.id == "schwartz10" else SCHWARTZ10
            if isinstance(name, str) and other.find(name) is not None:
                hint = f" ({name!r} is a {other.id} value; choose --taxonomy {other.id})"
            raise UserError(
                f"{context}unknown value {name!r} in taxonomy {self.id}{hint}",
                fix=f"use one of: {', '.join(self.values)}",
            )
        return found

    def name(self, value: str, language: str = "en") -> str:
        """Display name of ``value`` in "zh" or "en"."""
        return self.names[self.resolve(value)][_lang(language)]

    def definition(self, value: str, language: str = "en") -> str:
        """One-sentence definition of ``value`` in "zh" or "en"."""
        return self.definitions[self.resolve(value)][_lang(language)]

    def children(self, basic_value: str) -> tuple[str, ...]:
        """The values of this taxonomy whose parent is ``basic_value`` (one of the ten)."""
        return tuple(v for v in self.values if self.parent[v] == basic_value)

    def project(self, vectors: np.ndarray | Sequence[float], to: Taxonomy | str) -> np.ndarray:
        """Map vectors over this taxonomy to ``to`` (only to ``schwartz10`` or to itself).

        Each basic value gets the mean of its children's *non-zero* entries (0 when all are
        zero), so ``[+1, 0]`` maps to +1 and ``[+1, -1]`` to 0. NaN rows (failed detections) stay
        NaN. Accepts one vector (K,) or a matrix (n, K).
        """
        target = get_taxonomy(to) if isinstance(to, str) else to
        arr = np.asarray(vectors, dtype=np.float64)
        if target == self:
            return arr.copy()
        if target.id != "schwartz10":
            raise UserError(
                f"cannot project {self.id} vectors onto {target.id}",
                fix="project onto schwartz10 (every taxonomy maps to the ten basic values)",
            )
        if arr.shape[-1] != len(self):
            raise ValueError(f"expected vectors of length {len(self)}, got shape {arr.shape}")
        single = arr.ndim == 1
        mat = arr.reshape(1, -1) if single else arr
        out = np.zeros((mat.shape[0], len(target)), dtype=np.float64)
        for j, basic in enumerate(target.values):
            idx = [self.values.index(c) for c in self.children(basic)]
            block = mat[:, idx]
            nonzero = (block != 0) & ~np.isnan(block)
            counts = nonzero.sum(axis=1)
            sums = np.where(nonzero, block, 0.0).sum(axis=1)
            out[:, j] = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        out[np.isnan(mat).any(axis=1)] = np.nan
        return out[0] if single else out

    def project_mask(self, mask: np.ndarray | Sequence[bool], to: Taxonomy | str) -> np.ndarray:
        """A basic value is constrained when any of its children is (see :meth:`project`)."""
        target = get_taxonomy(to) if isinstance(to, str) else to
        m = np.asarray(mask, dtype=bool)
        if target == self:
            return m.copy()
        self.project(np.zeros(len(self)), target)  # same checks
        return np.array(
            [any(m[self.values.index(c)] for c in self.children(b)) for b in target.values]
        )

    def describe(self, language: str = "en") -> list[dict[str, str]]:
        """One row per value: id, name, definition (in ``language``) and parent."""
        lang = _lang(language)
        return [
            {
                "id": v,
                "name": self.names[v][lang],
                "definition": self.definitions[v][lang],
                "parent": self.parent[v],
            }
            for v in self.values
        ]


def _lang(language: str) -> str:
    return fold_language(language or "en", strict=True)  # strict; a missing tag means English


def _freeze(d: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in d.items()})


SCHWARTZ10 = Taxonomy(
    id="schwartz10",
    values=VALUES,
    names=_freeze({v: VALUE_SPECS[v].name for v in VALUES}),
    definitions=_freeze({v: VALUE_SPECS[v].definition for v in VALUES}),
    parent=MappingProxyType({v: v for v in VALUES}),
    description="Schwartz's ten basic human values.",
)

# id: (parent, en name, zh name, en definition, zh definition)
_REFINED: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "self-direction-thought",
        "self-direction",
        "Self-direction–thought",
        "思想自主",
        "Developing and holding one's own ideas, opinions and abilities, and thinking things "
        "through for oneself.",
        "形成并坚持自己的想法、观点和能力，凡事独立思考。",
    ),
    (
        "self-direction-action",
        "self-direction",
        "Self-direction–action",
        "行动自主",
        "Deciding for oneself what to do and how to live, without being directed by others.",
        "自己决定做什么、怎样生活，而不受他人摆布。",
    ),
    (
        "stimulation",
        "stimulation",
        "Stimulation",
        "刺激",
        "Seeking variety, excitement and new experiences rather than routine.",
        "追求多样、兴奋和新的体验，而不是一成不变。",
    ),
    (
        "hedonism",
        "hedonism",
        "Hedonism",
        "享乐",
        "Enjoying life's pleasures and seeking gratification of the senses for oneself.",
        "享受生活中的乐趣，为自己寻求感官上的满足。",
    ),
    (
        "achievement",
        "achievement",
        "Achievement",
        "成就",
        "Striving for personal success that others recognise, by showing that one is capable.",
        "通过展现能力和才干，争取得到他人认可的个人成功。",
    ),
    (
        "power-dominance",
        "power",
        "Power–dominance",
        "权力-支配",
        "Wanting a say over what other people do and being able to make them comply.",
        "希望左右他人的行为，并能让他们服从。",
    ),
    (
        "power-resources",
        "power",
        "Power–resources",
        "权力-资源",
        "Wanting wealth, possessions and command over material and social assets.",
        "追求财富、财产以及对物质与社会资源的掌控。",
    ),
    (
        "face",
        "power",
        "Face",
        "面子",
        "Guarding one's reputation and standing in the eyes of others and avoiding shame.",
        "维护自己在他人眼中的名声与地位，避免丢脸或受辱。",
    ),
    (
        "security-personal",
        "security",
        "Security–personal",
        "个人安全",
        "Keeping oneself and one's family safe, healthy and provided for in daily life.",
        "让自己和家人在日常生活中安全、健康、有保障。",
    ),
    (
        "security-societal",
        "security",
        "Security–societal",
        "社会安全",
        "Wanting the nation and the wider society to be safe, orderly and stable.",
        "希望国家和整个社会安全、有序、稳定。",
    ),
    (
        "tradition",
        "tradition",
        "Tradition",
        "传统",
        "Keeping alive and handing on the customs, beliefs and rites of one's family, culture "
        "or religion.",
        "延续并传承家庭、文化或宗教中的习俗、信仰和礼仪。",
    ),
    (
        "conformity-rules",
        "conformity",
        "Conformity–rules",
        "遵从-规则",
        "Keeping to laws, regulations and formal duties, even when nobody is checking.",
        "遵守法律、规章和正式义务，即使无人监督也是如此。",
    ),
    (
        "conformity-interpersonal",
        "conformity",
        "Conformity–interpersonal",
        "遵从-人际",
        "Refraining from words and deeds that would upset, annoy or hurt other people.",
        "避免说出或做出会让他人不快、烦恼或受伤的言行。",
    ),
    (
        "humility",
        "tradition",
        "Humility",
        "谦逊",
        "Being modest and aware of how small one is within the wider world.",
        "为人谦虚，明白自己在广阔的世界中微不足道。",
    ),
    (
        "benevolence-dependability",
        "benevolence",
        "Benevolence–dependability",
        "仁爱-可靠",
        "Being someone whom family, friends and colleagues can count on and trust.",
        "做家人、朋友和同事可以依靠、信任的人。",
    ),
    (
        "benevolence-caring",
        "benevolence",
        "Benevolence–caring",
        "仁爱-关怀",
        "Looking after the well-being of family, friends and others in one's own circle.",
        "关心家人、朋友和自己圈子里其他人的福祉。",
    ),
    (
        "universalism-concern",
        "universalism",
        "Universalism–concern",
        "普世-关切",
        "Standing up for equal treatment, justice and protection for everyone, strangers and "
        "the weak included.",
        "为每个人（包括弱者和陌生人）争取平等对待、正义与保护。",
    ),
    (
        "universalism-nature",
        "universalism",
        "Universalism–nature",
        "普世-自然",
        "Protecting nature and the environment.",
        "保护自然与生态环境。",
    ),
    (
        "universalism-tolerance",
        "universalism",
        "Universalism–tolerance",
        "普世-包容",
        "Accepting and trying to understand people whose views and ways of life differ from "
        "one's own.",
        "接纳并努力理解观点和生活方式与自己不同的人。",
    ),
)

SCHWARTZ19 = Taxonomy(
    id="schwartz19",
    values=tuple(row[0] for row in _REFINED),
    names=_freeze({row[0]: {"en": row[2], "zh": row[3]} for row in _REFINED}),
    definitions=_freeze({row[0]: {"en": row[4], "zh": row[5]} for row in _REFINED}),
    parent=MappingProxyType({row[0]: row[1] for row in _REFINED}),
    description="The refined theory of 19 values (Schwartz et al. 2012).",
)

TAXONOMIES: Mapping[str, Taxonomy] = MappingProxyType({t.id: t for t in (SCHWARTZ10, SCHWARTZ19)})
"""Taxonomy id -> :class:`Taxonomy`."""

_ALIASES = {"10": "schwartz10", "19": "schwartz19", "basic": "schwartz10", "refined": "schwartz19"}


def get_taxonomy(name: str | Taxonomy = "schwartz10") -> Taxonomy:
    """A taxonomy by id: "schwartz10" (default) or "schwartz19" (a :class:`Taxonomy` passes)."""
    if isinstance(name, Taxonomy):
        return name
    key = normalise_value_name(str(name)).replace("-", "")
    key = _ALIASES.get(key, key)
    if key not in TAXONOMIES:
        raise UserError(f"unknown taxonomy {name!r}", fix=f"use one of: {', '.join(TAXONOMIES)}")
    return TAXONOMIES[key]
