"""IMAP flags: imap4flags (RFC 5232) and the deprecated imapflags draft.

``setflag``/``addflag``/``removeflag`` (RFC 5232 §3.1-§3.3) change the internal flag
variable, or a named variable; ``hasflag`` (§4) tests it; ``:flags`` on ``keep`` and
``fileinto`` (§5) gives explicit flags, and without it they take the internal
variable's current value.

Implementation notes:

- A flag list is a string list whose strings hold space-separated flags (RFC 5232 §3);
  flags are unique case-insensitively, the first spelling wins.
- draft-melnikov-sieve-imapflags-03 (``imapflags``) has the same three commands without
  the variable argument, plus ``mark`` (add ``\\Flagged``) and ``unmark``; requiring it
  together with ``imap4flags`` is an error, as in Pigeonhole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.sieve.compiled import Node
from plugins.sieve.result import merge_flags
from plugins.sieve.spec import ArgKind, Extension, Spec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "current_flags", "flag_list"]


def flag_list(values: list[str]) -> list[str]:
    """RFC 5232 §3: the flags in a list of space-separated flag strings, deduplicated."""
    return merge_flags([], [flag for value in values for flag in value.split()])


def current_flags(run: Run, node: Node) -> tuple[str, ...] | None:
    """The flags ``keep``/``fileinto`` store with: ``:flags`` or the internal variable
    (RFC 5232 §5); ``None`` when the script does not use flags.
    """
    if node.has("flags"):
        return tuple(flag_list(run.strings(node.tag("flags"))))
    if run.enabled("imap4flags") or run.enabled("imapflags") or run.result.flags_in_use:
        # The variable is shared by every script of one delivery.
        return tuple(run.result.flags)
    return None


def _validate_variable(ctx: CompileContext, node: Node) -> None:
    from plugins.sieve.extensions.variables import validate_variable_name

    name = node.args[0] if node.args else None
    if isinstance(name, str):
        validate_variable_name(ctx, node, name)
    elif isinstance(name, tuple):
        for item in name:
            validate_variable_name(ctx, node, item)


def _validate_imapflags(ctx: CompileContext, node: Node) -> None:
    if ctx.enabled("imapflags") and ctx.enabled("imap4flags"):
        ctx.error(node, "the imapflags extension conflicts with imap4flags")


def _get(run: Run, variable: str | None) -> list[str]:
    if variable is None:
        return run.result.flags
    return flag_list([run.get_variable(variable)])


def _put(run: Run, variable: str | None, flags: list[str]) -> None:
    if variable is None:
        run.result.flags = flags
    else:
        run.set_variable(variable, " ".join(flags))


def _variable(run: Run, node: Node) -> str | None:
    name = node.args[0] if len(node.args) > 1 else None
    return None if name is None else run.string(name).lower()


def _setflag(run: Run, node: Node) -> None:
    _put(run, _variable(run, node), flag_list(run.strings(node.args[-1])))


def _addflag(run: Run, node: Node) -> None:
    variable = _variable(run, node)
    _put(run, variable, merge_flags(_get(run, variable), flag_list(run.strings(node.args[-1]))))


def _removeflag(run: Run, node: Node) -> None:
    variable = _variable(run, node)
    removed = {flag.lower() for flag in flag_list(run.strings(node.args[-1]))}
    _put(run, variable, [f for f in _get(run, variable) if f.lower() not in removed])


def _mark(run: Run, node: Node) -> None:
    run.result.flags = merge_flags(run.result.flags, ["\\Flagged"])


def _unmark(run: Run, node: Node) -> None:
    run.result.flags = [f for f in run.result.flags if f.lower() != "\\flagged"]


def _hasflag(run: Run, node: Node) -> bool:
    keys = run.strings(node.args[-1])
    if not node.has("count") and not node.has("value"):
        # RFC 5232 §4: keys are flag lists too ("b A" is the flags b and A).
        keys = [flag for key in keys for flag in key.split()] or keys
    if node.args[0] is None:
        flags = list(run.result.flags)
    else:
        names = [name.lower() for name in run.strings(node.args[0])]
        flags = flag_list([run.get_variable(name) for name in names])
    return run.match(node, flags, keys)


def _flag_specs(capability: str) -> tuple[Spec, ...]:
    with_variable = capability == "imap4flags"
    positional = (ArgKind.STRING, ArgKind.STRING_LIST) if with_variable else (ArgKind.STRING_LIST,)
    leading = 1 if with_variable else 0
    validate = _validate_variable if with_variable else _validate_imapflags
    return tuple(
        Spec(
            name,
            requires=capability,
            positional=positional,
            optional_leading=leading,
            validate=validate,
            key=name,
        )
        for name in ("setflag", "addflag", "removeflag")
    )


EXTENSIONS = (
    Extension(
        name="imap4flags",
        capabilities=("imap4flags",),
        conflicts=("imapflags",),
        specs=(
            *_flag_specs("imap4flags"),
            Spec(
                "hasflag",
                requires="imap4flags",
                is_test=True,
                positional=(ArgKind.STRING_LIST, ArgKind.STRING_LIST),
                optional_leading=1,
                tags=match_tags(),
                validate=_validate_variable,
            ),
        ),
        commands={"setflag": _setflag, "addflag": _addflag, "removeflag": _removeflag},
        tests={"hasflag": _hasflag},
    ),
    Extension(
        name="imapflags",
        capabilities=("imapflags",),
        conflicts=("imap4flags",),
        specs=(
            *_flag_specs("imapflags"),
            Spec("mark", requires="imapflags", validate=_validate_imapflags),
            Spec("unmark", requires="imapflags", validate=_validate_imapflags),
        ),
        commands={"mark": _mark, "unmark": _unmark},
    ),
)
