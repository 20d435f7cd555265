"""The mboxmetadata and servermetadata extensions (RFC 5490 §3.3-§3.6).

``metadata``/``metadataexists`` read RFC 5464 METADATA entries of a mailbox, and
``servermetadata``/``servermetadataexists`` those of the server, through
:meth:`Host.metadata`.

Implementation notes:

- Entry names must start with ``/private/`` or ``/shared/`` (RFC 5464 §3.2); an
  invalid name never exists and never matches. A missing entry makes ``metadata``
  false (there is no value to compare).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from plugins.sieve.compiled import Node
from plugins.sieve.extensions.delivery import valid_utf8
from plugins.sieve.spec import ArgKind, Extension, Spec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "valid_entry"]

# RFC 5464 §3.2: entries live under /private or /shared; components are non-empty and
# hold no wildcards or control characters.
_ENTRY = re.compile(r"/(private|shared)(/[^/*%\x00-\x1f\x7f]+)+", re.I)


def valid_entry(name: str) -> bool:
    """Whether ``name`` is a valid METADATA entry name."""
    return _ENTRY.fullmatch(name) is not None


def _value(run: Run, mailbox: str | None, entry: str) -> str | None:
    if not valid_entry(entry) or (mailbox is not None and not valid_utf8(mailbox)):
        return None
    return run.host.metadata(mailbox, entry)


def _metadata(run: Run, node: Node) -> bool:
    value = _value(run, run.string(node.args[0]), run.string(node.args[1]))
    return value is not None and run.match(node, [value], run.strings(node.args[2]))


def _metadataexists(run: Run, node: Node) -> bool:
    mailbox = run.string(node.args[0])
    return all(_value(run, mailbox, e) is not None for e in run.strings(node.args[1]))


def _servermetadata(run: Run, node: Node) -> bool:
    value = _value(run, None, run.string(node.args[0]))
    return value is not None and run.match(node, [value], run.strings(node.args[1]))


def _servermetadataexists(run: Run, node: Node) -> bool:
    return all(_value(run, None, e) is not None for e in run.strings(node.args[0]))


EXTENSIONS = (
    Extension(
        name="mboxmetadata",
        capabilities=("mboxmetadata",),
        specs=(
            Spec(
                "metadata",
                requires="mboxmetadata",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING, ArgKind.STRING_LIST),
                tags=match_tags(),
            ),
            Spec(
                "metadataexists",
                requires="mboxmetadata",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
            ),
        ),
        tests={"metadata": _metadata, "metadataexists": _metadataexists},
    ),
    Extension(
        name="servermetadata",
        capabilities=("servermetadata",),
        specs=(
            Spec(
                "servermetadata",
                requires="servermetadata",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
                tags=match_tags(),
            ),
            Spec(
                "servermetadataexists",
                requires="servermetadata",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
            ),
        ),
        tests={
            "servermetadata": _servermetadata,
            "servermetadataexists": _servermetadataexists,
        },
    ),
)
