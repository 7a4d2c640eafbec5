"""A value target: a vector in [-1, 1]^K over a taxonomy, and a mask of the values it constrains.

+1 means "promote this value", -1 "oppose it", 0 "stay neutral on it". The mask tells a
constraint of 0 ("be neutral about power") from no constraint at all: only masked dimensions
are part of the target. The same type describes a detected profile (mask all True).

Targets are written as ``value=weight`` pairs separated by commas (or semicolons)::

    tradition=+1,security=+1,self-direction=-1

Weights are numbers in [-1, 1] (``+1``, ``-1``, ``0``, ``0.5``); value names are resolved by
:meth:`Taxonomy.resolve` (ids, display names in either language, case and dashes folded). An
unknown value, a duplicate, a missing ``=`` or a weight out of range raises :class:`UserError`
naming the bad token and listing the valid names (exit code 2 in the CLI).

>>> t = ValueTarget.parse("tradition=+1,security=+1,self-direction=-1")
>>> t.vector[t.taxonomy.index("tradition")], int(t.mask.sum())
(1.0, 3)
>>> str(t)
'self-direction=-1,security=+1,tradition=+1'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from valuealign.errors import UserError
from valuealign.values.taxonomy import Taxonomy, get_taxonomy

__all__ = ["ValueTarget", "ValueVector", "parse_target"]

_PAIR_SPLIT = re.compile(r"[,;，；\n]")


def _format_weight(w: float) -> str:
    if w == int(w):
        return f"{int(w):+d}" if w else "0"
    return f"{w:+g}"


@dataclass(frozen=True)
class ValueTarget:
    """Frozen (taxonomy, weights, constrained) triple; see the module docstring.

    ``weights[i]`` is the target for ``taxonomy.values[i]``; ``constrained[i]`` says whether the
    target says anything about it (unconstrained weights are always 0). Use :attr:`vector` and
    :attr:`mask` for numpy views.
    """

    taxonomy: Taxonomy
    weights: tuple[float, ...]
    constrained: tuple[bool, ...]

    def __post_init__(self) -> None:
        k = len(self.taxonomy)
        if len(self.weights) != k or len(self.constrained) != k:
            raise ValueError(
                f"{self.taxonomy.id} has {k} values; got {len(self.weights)} weights and "
                f"{len(self.constrained)} mask entries"
            )
        for w, c in zip(self.weights, self.constrained, strict=True):
            if not (math.isfinite(w) and -1.0 <= w <= 1.0):
                raise ValueError(f"weight {w!r} is outside [-1, 1]")
            if not c and w != 0.0:
                raise ValueError("an unconstrained value must have weight 0")
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "constrained", tuple(bool(c) for c in self.constrained))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, taxonomy: Taxonomy | str = "schwartz10") -> ValueTarget:
        """Parse ``"tradition=+1,security=+1,self-direction=-1"`` (see the module docstring)."""
        tax = get_taxonomy(taxonomy)
        if not isinstance(text, str) or not text.strip():
            raise UserError(
                "empty value target",
                fix="write value=weight pairs, e.g. 'tradition=+1,self-direction=-1'",
            )
        pairs: dict[str, float] = {}
        for raw in _PAIR_SPLIT.split(text):
            token = raw.strip()
            if not token:
                continue
            name, sep, weight_text = token.replace("＝", "=").partition("=")
            if not sep or not name.strip() or not weight_text.strip():
                raise UserError(
                    f"malformed value target token {token!r} in {text!r}",
                    fix=f"write value=weight with weight in [-1, 1]; values: {', '.join(tax)}",
                )
            value = tax.resolve(name.strip(), context=f"value target {text!r}: ")
            if value in pairs:
                raise UserError(
                    f"value {value!r} appears twice in value target {text!r}",
                    fix="give each value once",
                )
            pairs[value] = _parse_weight(weight_text.strip(), token, text)
        if not pairs:
            raise UserError(f"empty value target {text!r}", fix="write value=weight pairs")
        return cls.from_dict(pairs, tax)

    @classmethod
    def from_dict(
        cls, weights: Mapping[str, float | int | str], taxonomy: Taxonomy | str = "schwartz10"
    ) -> ValueTarget:
        """From ``{value: weight}``; listed values are constrained, the others are not."""
        tax = get_taxonomy(taxonomy)
        if not isinstance(weights, Mapping):
            raise UserError(
                f"a value target must be a mapping of value -> weight, not {type(weights).__name__}",
                fix="e.g. {'tradition': 1, 'self-direction': -1}",
            )
        vec = [0.0] * len(tax)
        mask = [False] * len(tax)
        seen: set[str] = set()
        for name, weight in weights.items():
            value = tax.resolve(str(name), context="value target: ")
            if value in seen:
                raise UserError(f"value {value!r} appears twice in value target", fix="once each")
            seen.add(value)
            w = (
                _parse_weight(weight, f"{name}={weight}", str(dict(weights)))
                if isinstance(weight, str)
                else _check_weight(weight, f"{name}={weight}", str(dict(weights)))
            )
            i = tax.values.index(value)
            vec[i], mask[i] = w, True
        return cls(tax, tuple(vec), tuple(mask))

    @classmethod
    def from_vector(
        cls,
        vector: Sequence[float] | np.ndarray,
        taxonomy: Taxonomy | str = "schwartz10",
        mask: Sequence[bool] | np.ndarray | None = None,
    ) -> ValueTarget:
        """From a length-K vector (clipped to [-1, 1]) and a mask (default: all constrained)."""
        tax = get_taxonomy(taxonomy)
        vec = np.clip(np.asarray(vector, dtype=np.float64).ravel(), -1.0, 1.0)
        m = np.ones(len(tax), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if vec.shape != (len(tax),) or m.shape != (len(tax),):
            raise ValueError(f"{tax.id} vectors have length {len(tax)}")
        vec = np.where(m, vec, 0.0)
        return cls(tax, tuple(float(x) for x in vec), tuple(bool(x) for x in m))

    @classmethod
    def coerce(
        cls,
        target: ValueTarget | str | Mapping[str, float | int | str],
        taxonomy: Taxonomy | str = "schwartz10",
    ) -> ValueTarget:
        """Accept a ValueTarget (returned as is), a target string or a dict."""
        if isinstance(target, ValueTarget):
            return target
        if isinstance(target, str):
            return cls.parse(target, taxonomy)
        return cls.from_dict(target, taxonomy)

    # -- views ------------------------------------------------------------------------------

    @property
    def vector(self) -> np.ndarray:
        """The weights as a float64 array of shape (K,) (0 where unconstrained)."""
        return np.array(self.weights, dtype=np.float64)

    @property
    def mask(self) -> np.ndarray:
        """True where the target constrains the value, shape (K,)."""
        return np.array(self.constrained, dtype=bool)

    @property
    def values(self) -> tuple[str, ...]:
        """The constrained value ids, in taxonomy order."""
        return tuple(v for v, c in zip(self.taxonomy.values, self.constrained, strict=True) if c)

    def get(self, value: str) -> float | None:
        """The weight for ``value``, or None when the target does not constrain it."""
        i = self.taxonomy.index(value)
        return self.weights[i] if self.constrained[i] else None

    def to_dict(self) -> dict[str, float]:
        """``{value: weight}`` for the constrained values (round-trips through from_dict)."""
        return {
            v: w
            for v, w, c in zip(self.taxonomy.values, self.weights, self.constrained, strict=True)
            if c
        }

    def project(self, taxonomy: Taxonomy | str) -> ValueTarget:
        """The same target over ``schwartz10`` (see :meth:`Taxonomy.project`)."""
        tax = get_taxonomy(taxonomy)
        if tax == self.taxonomy:
            return self
        vec = self.taxonomy.project(self.vector, tax)
        mask = self.taxonomy.project_mask(self.mask, tax)
        return ValueTarget.from_vector(vec, tax, mask)

    def __str__(self) -> str:
        return ",".join(f"{v}={_format_weight(w)}" for v, w in self.to_dict().items())


ValueVector = ValueTarget
"""Alias: a detected or desired value profile is the same type as a target."""


def parse_target(
    target: ValueTarget | str | Mapping[str, float | int | str],
    taxonomy: Taxonomy | str = "schwartz10",
) -> ValueTarget:
    """Shorthand for :meth:`ValueTarget.coerce`."""
    return ValueTarget.coerce(target, taxonomy)


def _parse_weight(text: str, token: str, whole: str) -> float:
    try:
        w = float(text.strip())
    except ValueError:
        raise UserError(
            f"bad weight {text!r} in value target token {token!r} of {whole!r}",
            fix="use a number in [-1, 1]: +1 promote, -1 oppose, 0 neutral",
        ) from None
    return _check_weight(w, token, whole)


def _check_weight(w: object, token: str, whole: str) -> float:
    if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(float(w)):
        raise UserError(
            f"bad weight in value target token {token!r} of {whole!r}",
            fix="use a number in [-1, 1]: +1 promote, -1 oppose, 0 neutral",
        )
    if not -1.0 <= float(w) <= 1.0:
        raise UserError(
            f"weight {w} in value target token {token!r} is outside [-1, 1]",
            fix="use a number in [-1, 1]: +1 promote, -1 oppose, 0 neutral",
        )
    return float(w)
