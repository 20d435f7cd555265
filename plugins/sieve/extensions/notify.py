"""Notifications: enotify (RFC 5435) with the mailto method (RFC 5436), and the deprecated
``notify``/``denotify`` of draft-ietf-sieve-notify-00.

Implementation notes:

- ``notify`` (RFC 5435 §3) adds a :class:`~plugins.sieve.actions.Notify` action; the
  notification itself is composed by the host (:mod:`plugins.sieve.compose`). Constant
  methods, ``:from`` addresses, ``:importance`` values and ``:options`` are checked at
  compile time; computed ones at run time.
- Only the ``mailto`` method is offered. URIs must use RFC 3986 characters; the
  recipients and header names are checked by :func:`plugins.sieve.mailto.parse_mailto`.
- ``valid_notify_method`` (§4) is true when every URI is valid and supported;
  ``notify_method_capability`` (§5) knows ``online``, which is ``maybe`` for mailto
  (RFC 5436 §2.6).
- The deprecated draft's ``notify`` takes ``:method``, ``:id``, ``:options`` (the
  addresses), a priority and ``:message``; ``denotify`` cancels pending ones by id and
  priority. Requiring both ``notify`` and ``enotify`` is an error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from plugins.sieve.actions import Notify
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.fcc import FCC_TAGS, fcc_of, validate_fcc
from plugins.sieve.mailto import parse_mailto, valid_address
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "valid_method"]

# RFC 3986 §2: unreserved, pct-encoded, gen-delims and sub-delims.
_URI = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$'*+\-.^_`|~]+")
# RFC 5435 §3.5: option = optionname "=" value; optionname = alpha *(alpha/digit/"-"/"_")
_OPTION = re.compile(r"[A-Za-z][A-Za-z0-9\-_]*=[^\r\n]*")
_PRIORITIES = {"high": "1", "normal": "2", "low": "3"}


def valid_method(uri: str) -> bool:
    """Whether ``uri`` is a valid URI of a supported method (mailto only)."""
    if not uri.lower().startswith("mailto:"):
        return False
    rest = uri[7:]
    if _URI.sub("", rest):
        return False
    target, _, query = rest.partition("?")
    if ";" in target:
        return False
    for pair in query.split("&") if query else ():
        name = pair.partition("=")[0]
        if not _HEADER_NAME.fullmatch(name.replace("%", "").strip() or "-"):
            return False
    return parse_mailto(uri) is not None


def _validate_notify(ctx: CompileContext, node: Node) -> None:
    if ctx.enabled("notify") and ctx.enabled("enotify"):
        ctx.error(node, "the notify extension conflicts with enotify")
    method = node.args[0] if node.args else None
    if isinstance(method, str) and ctx.constant(method) and not valid_method(method):
        ctx.error(node, f"invalid or unsupported notification method '{method}'")
    sender = node.tag("from")
    if isinstance(sender, str) and ctx.constant(sender) and not valid_address(sender):
        ctx.error(node, f"invalid :from address '{sender}' for notify")
    importance = node.tag("importance")
    if isinstance(importance, str) and ctx.constant(importance) and importance not in "123":
        ctx.error(node, f"invalid :importance '{importance}' (must be 1, 2 or 3)")
    options = node.tag("options")
    for option in options if isinstance(options, tuple) else ():
        if ctx.constant(option) and not _OPTION.fullmatch(option):
            ctx.error(node, f"invalid notify option '{option}'")
    validate_fcc(ctx, node)


def _validate_legacy(ctx: CompileContext, node: Node) -> None:
    if ctx.enabled("notify") and ctx.enabled("enotify"):
        ctx.error(node, "the notify extension conflicts with enotify")
    options = node.tag("options")
    for option in options if isinstance(options, tuple) else ():
        if ctx.constant(option) and not valid_address(option):
            ctx.error(node, f"invalid notify address '{option}'")
    method = node.tag("method")
    if isinstance(method, str) and ctx.constant(method) and method.lower() != "mailto":
        ctx.error(node, f"unsupported notification method '{method}'")


def _notify(run: Run, node: Node) -> None:
    method = run.string(node.args[0])
    if not valid_method(method) or method.split(":")[0].lower() not in run.settings.notify_methods:
        raise run.error(node, f"invalid or unsupported notification method '{method}'")
    sender = run.string(node.tag("from")) if node.has("from") else None
    if sender is not None and not valid_address(sender):
        raise run.error(node, f"invalid :from address '{sender}' for notify")
    importance = run.string(node.tag("importance")) if node.has("importance") else "2"
    if importance not in ("1", "2", "3"):
        raise run.error(node, f"invalid :importance '{importance}'")
    message = run.string(node.tag("message")) if node.has("message") else None
    options = tuple(run.strings(node.tag("options"))) if node.has("options") else ()
    # RFC 8580 §6: a copy of the notification may be filed.
    fcc = fcc_of(run, node)
    run.add_action(Notify(method, sender, importance, options, message, fcc=fcc), node)


def _legacy_notify(run: Run, node: Node) -> None:
    addresses = tuple(run.strings(node.tag("options"))) if node.has("options") else ()
    for address in addresses:
        if not valid_address(address):
            raise run.error(node, f"invalid notify address '{address}'")
    importance = next((v for k, v in _PRIORITIES.items() if node.has(k)), "2")
    message = run.string(node.tag("message")) if node.has("message") else None
    identifier = run.string(node.tag("id")) if node.has("id") else None
    action = Notify("mailto", None, importance, addresses, message, identifier, legacy=True)
    run.add_action(action, node)


def _denotify(run: Run, node: Node) -> None:
    importance = next((v for k, v in _PRIORITIES.items() if node.has(k)), None)
    spec = run.match_spec(node)
    keys = next(
        (run.strings(node.tags[k]) for k in ("is", "contains", "matches") if k in node.tags), None
    )

    def cancelled(action: object) -> bool:
        if not isinstance(action, Notify) or not action.legacy:
            return False
        if importance is not None and action.importance != importance:
            return False
        return keys is None or (
            action.id is not None and spec.match([action.id], keys, run.charge)[0]
        )

    run.result.discard_actions(cancelled)


def _valid_notify_method(run: Run, node: Node) -> bool:
    uris = run.strings(node.args[0])
    return all(
        valid_method(uri) and uri.split(":")[0].lower() in run.settings.notify_methods
        for uri in uris
    )


def _notify_method_capability(run: Run, node: Node) -> bool:
    uri = run.string(node.args[0])
    capability = run.string(node.args[1]).lower()
    if capability == "fcc" and uri.lower().startswith("mailto:"):
        # RFC 8580 §6.1: the scheme is enough; mailto notifications can be filed.
        return run.match(node, ["yes"], run.strings(node.args[2]))
    if not valid_method(uri) or capability != "online":
        return False
    return run.match(node, ["maybe"], run.strings(node.args[2]))


_PRIORITY_TAGS = tuple(TagSpec(name, group="priority") for name in _PRIORITIES)

EXTENSIONS = (
    Extension(
        name="enotify",
        capabilities=("enotify",),
        conflicts=("notify",),
        specs=(
            Spec(
                "notify",
                requires="enotify",
                positional=(ArgKind.STRING,),
                tags=(
                    TagSpec("from", ArgKind.STRING),
                    TagSpec("importance", ArgKind.STRING),
                    TagSpec("options", ArgKind.STRING_LIST),
                    TagSpec("message", ArgKind.STRING),
                    *FCC_TAGS,
                ),
                validate=_validate_notify,
            ),
            Spec(
                "valid_notify_method",
                requires="enotify",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
            ),
            Spec(
                "notify_method_capability",
                requires="enotify",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING, ArgKind.STRING_LIST),
                tags=match_tags(),
            ),
        ),
        commands={"notify": _notify},
        tests={
            "valid_notify_method": _valid_notify_method,
            "notify_method_capability": _notify_method_capability,
        },
    ),
    Extension(
        name="notify",
        capabilities=("notify",),
        conflicts=("enotify",),
        specs=(
            Spec(
                "notify",
                requires="notify",
                tags=(
                    TagSpec("method", ArgKind.STRING),
                    TagSpec("id", ArgKind.STRING),
                    TagSpec("options", ArgKind.STRING_LIST),
                    TagSpec("message", ArgKind.STRING),
                    *_PRIORITY_TAGS,
                ),
                validate=_validate_legacy,
                key="notify_legacy",
            ),
            Spec(
                "denotify",
                requires="notify",
                tags=(
                    TagSpec("is", ArgKind.STRING, group="match"),
                    TagSpec("contains", ArgKind.STRING, group="match"),
                    TagSpec("matches", ArgKind.STRING, group="match"),
                    *_PRIORITY_TAGS,
                ),
            ),
        ),
        commands={"notify_legacy": _legacy_notify, "denotify": _denotify},
    ),
)
