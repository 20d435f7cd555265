"""The fcc extension (RFC 8580): file a copy of the messages ``vacation`` and ``notify`` send.

``:fcc <mailbox>`` on ``vacation`` (RFC 8580 §5) and ``notify`` (§6) asks the host to
file a copy of the generated message; the action carries an
:class:`~plugins.sieve.actions.Fcc` and :mod:`plugins.sieve.outbound` files it once
the message is queued.

Implementation notes:

- The fileinto modifiers apply to ``:fcc`` (RFC 8580 §3.1): ``:flags`` (RFC 5232 §5,
  needs ``imap4flags``), ``:create`` (RFC 5490 §3.2, needs ``mailbox``),
  ``:specialuse`` (RFC 8579 §4, needs ``special-use``) and ``:mailboxid`` (RFC 9042
  §5, needs ``mailboxid``). They are FCC-OPTS (§3.2): without ``:fcc`` they are a
  compile error, as is ``:specialuse`` together with ``:mailboxid`` (RFC 9042 §5).
- The mailbox name must be valid UTF-8, as for ``fileinto`` (RFC 8580 §3 gives it
  the semantics of the fileinto mailbox); a ``:specialuse`` value must be an RFC
  6154 §6 ``use-attr`` (RFC 8579 §4: handled like an invalid mailbox name). Constant
  values are checked at compile time, computed ones at run time.
- ``notify_method_capability <uri> "fcc"`` answers ``yes`` for ``mailto:`` (RFC 8580
  §6.1): its notifications are MIME messages that are filed unchanged (§6).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from plugins.sieve.actions import Fcc
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.delivery import canonical_mailbox, valid_utf8
from plugins.sieve.extensions.flags import flag_list
from plugins.sieve.spec import ArgKind, Extension, TagSpec

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "FCC_TAGS", "fcc_of", "valid_special_use", "validate_fcc"]

#: RFC 8580 §3.2: FCC = ":fcc" string *FCC-OPTS (RFC 9042 §5 adds MAILBOXID-OPT).
FCC_TAGS: tuple[TagSpec, ...] = (
    TagSpec("fcc", ArgKind.STRING, requires="fcc"),
    TagSpec("flags", ArgKind.STRING_LIST, requires="imap4flags"),
    TagSpec("create", requires="mailbox"),
    TagSpec("specialuse", ArgKind.STRING, requires="special-use"),
    TagSpec("mailboxid", ArgKind.STRING, requires="mailboxid"),
)
_OPTIONS = ("flags", "create", "specialuse", "mailboxid")
# RFC 6154 §6: use-attr = "\All" / ... / use-attr-ext; use-attr-ext = "\" atom
# (RFC 3501 §9: atom = 1*ATOM-CHAR, no atom-specials).
_USE_ATTR = re.compile(r'\\[^(){ %*"\\\]\x00-\x1f\x7f-\U0010ffff]+')


def valid_special_use(value: str) -> bool:
    """Whether ``value`` is an RFC 6154 §6 ``use-attr`` such as ``\\Sent``."""
    return _USE_ATTR.fullmatch(value) is not None


def validate_fcc(ctx: CompileContext, node: Node) -> None:
    """Compile-time checks of the FCC arguments of ``node`` (see the module notes)."""
    if not node.has("fcc"):
        for option in _OPTIONS:
            if node.has(option):
                ctx.error(node, f"the :{option} argument of {node.name} requires :fcc")
        return
    if node.has("specialuse") and node.has("mailboxid"):
        # RFC 9042 §5: "an error to specify both :mailboxid and :specialuse".
        ctx.error(node, f":specialuse and :mailboxid cannot be combined on {node.name} :fcc")
    mailbox = node.tag("fcc")
    if isinstance(mailbox, str) and ctx.constant(mailbox) and not valid_utf8(mailbox):
        ctx.error(node, f"invalid :fcc mailbox name for {node.name}: not valid UTF-8")
    special = node.tag("specialuse")
    if isinstance(special, str) and ctx.constant(special) and not valid_special_use(special):
        ctx.error(node, f"invalid special-use flag '{special}' for {node.name} :fcc")


def fcc_of(run: Run, node: Node) -> Fcc | None:
    """The :class:`~plugins.sieve.actions.Fcc` of ``node``, or None without ``:fcc``.

    Raises:
        SieveRuntimeError: a computed mailbox name or special-use flag is invalid.
    """
    if not node.has("fcc"):
        return None
    mailbox = run.string(node.tag("fcc"))
    if not valid_utf8(mailbox):
        raise run.error(node, f"invalid :fcc mailbox name '{mailbox}': not valid UTF-8")
    special = run.string(node.tag("specialuse")) if node.has("specialuse") else None
    if special is not None and not valid_special_use(special):
        raise run.error(node, f"invalid special-use flag '{special}' for :fcc")
    return Fcc(
        canonical_mailbox(mailbox),
        flags=tuple(flag_list(run.strings(node.tag("flags")))) if node.has("flags") else None,
        create=node.has("create"),
        special_use=special,
        mailbox_id=run.string(node.tag("mailboxid")) if node.has("mailboxid") else None,
    )


EXTENSIONS = (Extension(name="fcc", capabilities=("fcc",)),)
