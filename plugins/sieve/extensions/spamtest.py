"""The spamtest, spamtestplus and virustest extensions (RFC 5235).

The verdict comes from a header field chosen by the administrator
(:class:`~plugins.sieve.settings.ScoreSource`), read in one of three ways: a score
relative to a maximum, the length of a run of one character, or a text compared with
configured texts.

Implementation notes:

- ``spamtest`` gives "0" when the message was not tested (no configured field, or the
  field is missing or does not parse), else 1 (clear) to 10 (spam): ``1 + 9 * ratio``
  rounded down, with ``ratio = score / max`` clipped to 0..1 (RFC 5235 §3.2.1).
  ``:percent`` (spamtestplus, §3.2.2) gives ``100 * ratio`` rounded.
- ``virustest`` (§3.3) works the same on its 1..5 scale.
- ``:count`` counts 1 when the message was tested and 0 when not (§3.1).
- A ``Header: regex`` source uses the regex's first group as the value; the regex is
  searched with the ``regex`` package and a timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import regex

from plugins.sieve.compiled import Node
from plugins.sieve.settings import ScoreSource
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "score"]


def _read(run: Run, spec: str) -> str | None:
    name, colon, pattern = spec.partition(":")
    values = run.message.values(name.strip()) if name.strip() else []
    if not values:
        return None
    value = values[0]
    if not colon or not pattern.strip():
        return value
    try:
        found = regex.search(pattern.strip(), value, timeout=run.limits.regex_timeout)
    except (regex.error, TimeoutError):
        return None
    if found is None:
        return None
    text = found.group(1) if found.groups() else found.group(0)
    return str(text) if text is not None else None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


def score(run: Run, source: ScoreSource | None, scale: int) -> tuple[float | None, int]:
    """``(ratio, text_value)``: the ratio 0..1 for score/strlen sources, or the value on
    the ``1..scale`` scale for text sources; ``(None, 0)`` when not tested.
    """
    if source is None or not source.status_header:
        return None, 0
    text = _read(run, source.status_header)
    if text is None:
        return None, 0
    if source.status_type == "text":
        for index, expected in enumerate(source.text_values[:scale], start=1):
            if expected is not None and expected.strip().lower() == text.strip().lower():
                return None, index
        return None, 0
    maximum = source.max_value
    if source.max_header:
        maximum = _number(_read(run, source.max_header))
    if maximum is None or maximum <= 0:
        return None, 0
    if source.status_type == "strlen":
        stripped = text.strip()
        value: float | None = float(len(stripped)) if len(set(stripped)) <= 1 else None
    else:
        value = _number(text)
    if value is None:
        return None, 0
    return max(0.0, min(1.0, value / maximum)), 0


def _value(run: Run, node: Node, source: ScoreSource | None, scale: int) -> str | None:
    ratio, text_value = score(run, source, scale)
    if ratio is None:
        return str(text_value) if text_value else None
    if node.has("percent"):
        return str(round(ratio * 100))
    if ratio <= 0:
        return "1"
    return str(min(scale, int(1 + (scale - 1) * ratio)))


def _test(run: Run, node: Node, source: ScoreSource | None, scale: int) -> bool:
    value = _value(run, node, source, scale)
    keys = run.strings(node.args[0])
    if node.has("count"):
        return run.match(node, [value] if value is not None else [], keys)
    return run.match(node, [value if value is not None else "0"], keys)


def _spamtest(run: Run, node: Node) -> bool:
    return _test(run, node, run.settings.spamtest, 10)


def _virustest(run: Run, node: Node) -> bool:
    return _test(run, node, run.settings.virustest, 5)


EXTENSIONS = (
    Extension(
        name="spamtest",
        capabilities=("spamtest", "spamtestplus"),
        specs=(
            Spec(
                "spamtest",
                requires="spamtest",
                is_test=True,
                positional=(ArgKind.STRING,),
                tags=(*match_tags(), TagSpec("percent", requires="spamtestplus")),
            ),
        ),
        tests={"spamtest": _spamtest},
        # RFC 5235 §3.2: either capability makes spamtest available.
        implies={"spamtestplus": ("spamtest",)},
    ),
    Extension(
        name="virustest",
        capabilities=("virustest",),
        specs=(
            Spec(
                "virustest",
                requires="virustest",
                is_test=True,
                positional=(ArgKind.STRING,),
                tags=match_tags(),
            ),
        ),
        tests={"virustest": _virustest},
    ),
)
