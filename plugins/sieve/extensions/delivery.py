"""Actions that decide where the message goes, and the mailbox tests.

``keep`` (RFC 5228 §4.3), ``discard`` (§4.4), ``redirect`` (§4.2), ``fileinto``
(§4.1, the "fileinto" capability) with ``:copy`` (RFC 3894 §3), ``:flags`` (RFC 5232
§5), ``:create`` (RFC 5490 §3.2), ``:specialuse`` (RFC 8579 §4) and ``:mailboxid``
(RFC 9042 §3); ``reject``/``ereject`` (RFC 5429 §2.1, §2.2); the tests
``mailboxexists`` (RFC 5490 §3.1), ``specialuse_exists`` (RFC 8579 §3) and
``mailboxidexists`` (RFC 9042 §4).

Implementation notes:

- A redirect address must be one syntactically valid addr-spec (RFC 5228 §4.2); a
  display name around it is accepted and dropped. Constant addresses are checked at
  compile time, computed ones at run time.
- Mailbox names must be valid UTF-8 (RFC 5490 §3.1 uses UTF-8 names); a constant name
  is checked at compile time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.sieve.actions import Discard, FileInto, Keep, Redirect, Reject
from plugins.sieve.addresses import normalize_addr_spec
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.flags import current_flags
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "canonical_mailbox", "valid_utf8"]

_FLAGS_TAG = TagSpec("flags", ArgKind.STRING_LIST, requires="imap4flags")
_COPY_TAG = TagSpec("copy", requires="copy")


def valid_utf8(value: str) -> bool:
    """Whether ``value`` came from valid UTF-8 (holds no escaped invalid octets)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate_mailbox(ctx: CompileContext, node: Node) -> None:
    name = node.args[0] if node.args else None
    if isinstance(name, str) and ctx.constant(name) and not valid_utf8(name):
        ctx.error(node, f"invalid mailbox name for {node.name}: not valid UTF-8")


def _validate_redirect(ctx: CompileContext, node: Node) -> None:
    address = node.args[0] if node.args else None
    if isinstance(address, str) and ctx.constant(address) and normalize_addr_spec(address) is None:
        ctx.error(node, f"specified redirect address '{address}' is invalid")


def canonical_mailbox(name: str) -> str:
    """``name`` with an ``INBOX`` prefix in canonical case (RFC 9051 §5.1: "INBOX" is
    case-insensitive), so duplicates are recognised.
    """
    head = name[:5]
    if head.upper() == "INBOX" and head != "INBOX" and (len(name) == 5 or not name[5].isalnum()):
        return "INBOX" + name[5:]
    return name


def _mailbox(run: Run, node: Node, value: object) -> str:
    name = run.string(value)  # type: ignore[arg-type]
    if not valid_utf8(name):
        raise run.error(node, f"invalid folder name '{name}': not valid UTF-8")
    return canonical_mailbox(name)


def _keep(run: Run, node: Node) -> None:
    run.add_action(Keep(current_flags(run, node)), node)


def _discard(run: Run, node: Node) -> None:
    run.add_action(Discard(), node)


def _redirect(run: Run, node: Node) -> None:
    value = run.string(node.args[0])
    address = normalize_addr_spec(value)
    if address is None:
        raise run.error(node, f"specified redirect address '{value}' is invalid")
    run.add_action(Redirect(address, copy=node.has("copy")), node)


def _fileinto(run: Run, node: Node) -> None:
    special = node.tag("specialuse")
    mailbox_id = node.tag("mailboxid")
    run.add_action(
        FileInto(
            _mailbox(run, node, node.args[0]),
            copy=node.has("copy"),
            flags=current_flags(run, node),
            create=node.has("create"),
            special_use=None if special is None else run.string(special),
            mailbox_id=None if mailbox_id is None else run.string(mailbox_id),
        ),
        node,
    )


def _reject(run: Run, node: Node) -> None:
    run.add_action(Reject(run.string(node.args[0]), extended=node.key == "ereject"), node)


def _mailboxexists(run: Run, node: Node) -> bool:
    names = run.strings(node.args[0])
    return all(valid_utf8(name) and run.host.mailbox_exists(name) for name in names)


def _specialuse_exists(run: Run, node: Node) -> bool:
    mailbox = None if node.args[0] is None else run.string(node.args[0])
    uses = tuple(run.strings(node.args[1]))
    if mailbox is not None and not run.host.mailbox_exists(mailbox):
        return False
    return run.host.special_use_exists(mailbox, uses)


def _mailboxidexists(run: Run, node: Node) -> bool:
    return all(run.host.mailbox_id_exists(i) for i in run.strings(node.args[0]))


EXTENSIONS = (
    Extension(
        name="actions",
        capabilities=(),
        specs=(
            Spec("keep", tags=(_FLAGS_TAG,)),
            Spec("discard"),
            Spec(
                "redirect",
                positional=(ArgKind.STRING,),
                tags=(_COPY_TAG,),
                validate=_validate_redirect,
            ),
        ),
        commands={"keep": _keep, "discard": _discard, "redirect": _redirect},
    ),
    Extension(
        name="fileinto",
        capabilities=("fileinto",),
        specs=(
            Spec(
                "fileinto",
                requires="fileinto",
                positional=(ArgKind.STRING,),
                tags=(
                    _COPY_TAG,
                    _FLAGS_TAG,
                    TagSpec("create", requires="mailbox"),
                    TagSpec("specialuse", ArgKind.STRING, requires="special-use"),
                    TagSpec("mailboxid", ArgKind.STRING, requires="mailboxid"),
                ),
                validate=_validate_mailbox,
            ),
        ),
        commands={"fileinto": _fileinto},
    ),
    Extension(name="copy", capabilities=("copy",)),
    Extension(
        name="reject",
        capabilities=("reject", "ereject"),
        specs=(
            Spec("reject", requires="reject", positional=(ArgKind.STRING,)),
            Spec("ereject", requires="ereject", positional=(ArgKind.STRING,)),
        ),
        commands={"reject": _reject, "ereject": _reject},
    ),
    Extension(
        name="mailbox",
        capabilities=("mailbox",),
        specs=(
            Spec(
                "mailboxexists",
                requires="mailbox",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
            ),
        ),
        tests={"mailboxexists": _mailboxexists},
    ),
    Extension(
        name="special-use",
        capabilities=("special-use",),
        specs=(
            Spec(
                "specialuse_exists",
                requires="special-use",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
                optional_leading=1,
            ),
        ),
        tests={"specialuse_exists": _specialuse_exists},
    ),
    Extension(
        name="mailboxid",
        capabilities=("mailboxid",),
        specs=(
            Spec(
                "mailboxidexists",
                requires="mailboxid",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
            ),
        ),
        tests={"mailboxidexists": _mailboxidexists},
    ),
)
