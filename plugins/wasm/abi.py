"""The numbers of the rule ABI, version 1 (``wasm-filters/ABI.md`` is the specification).

Everything a guest module and the host agree on is here: export names, the import
module name, action kinds, envelope field ids, part field ids and error codes. The
numbers never change meaning; a later ABI version only adds (new imports, new kinds,
new field ids), so a module built for version 1 keeps working.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "ABI_VERSION",
    "ABI_VERSION_EXPORT",
    "ALLOC_EXPORT",
    "ENTRY_POINTS",
    "IMPORT_MODULE",
    "MEMORY_EXPORT",
    "STAGES",
    "SUPPORTED_VERSIONS",
    "ActionKind",
    "EnvField",
    "PartField",
    "Status",
]

#: The ABI version this host implements; it runs modules of every version in
#: :data:`SUPPORTED_VERSIONS`.
ABI_VERSION: Final = 1
SUPPORTED_VERSIONS: Final = frozenset({1})

#: The module every host function is imported from.
IMPORT_MODULE: Final = "stalwart"
MEMORY_EXPORT: Final = "memory"
ALLOC_EXPORT: Final = "alloc"
ABI_VERSION_EXPORT: Final = "abi_version"

#: Pipeline stages in order, and the export that runs each. ``ehlo`` and ``mail``
#: were added within version 1: like every entry point they are optional, so a
#: module without them runs as before (ABI.md "Versioning").
STAGES: Final = ("connect", "ehlo", "mail", "rcpt", "data", "delivery")
ENTRY_POINTS: Final = {stage: f"on_{stage}" for stage in STAGES}

#: The packed "no value" answer of a getter (``-1`` as an i64).
ABSENT: Final = -1


class Status(enum.IntEnum):
    """What ``action`` and the getters answer (negative values are errors)."""

    OK = 0
    ABSENT = -1  # getters: no such value
    INVALID = -2  # an unknown kind or field, or bad arguments
    NO_MEMORY = -3  # the guest's alloc returned 0 or an area outside memory
    WRONG_STAGE = -4  # the action does not apply at this stage
    TOO_MANY = -5  # the per-call action limit is reached


class ActionKind(enum.IntEnum):
    """The ``kind`` argument of the ``action`` import (RFC 5228 §4 and extensions)."""

    KEEP = 1  # RFC 5228 §4.3
    FILEINTO = 2  # RFC 5228 §4.1; :create RFC 5490 §3.2; :flags RFC 5232 §5
    DISCARD = 3  # RFC 5228 §4.4
    REJECT = 4  # RFC 5429 §2.2 (at SMTP time: a 5xx reply)
    TEMPFAIL = 5  # a 4xx reply (no Sieve equivalent)
    REDIRECT = 6  # RFC 5228 §4.2; :copy RFC 3894
    ADD_HEADER = 7  # RFC 5293 §4
    DELETE_HEADER = 8  # RFC 5293 §5
    SET_FLAGS = 9  # RFC 5232 §3.1
    ADD_FLAGS = 10  # RFC 5232 §3.2
    REMOVE_FLAGS = 11  # RFC 5232 §3.3
    SCORE = 12  # adds points to the module's score header


class EnvField(enum.IntEnum):
    """The ``field`` argument of the ``envelope`` import."""

    MAIL_FROM = 0  # mail, rcpt, data, delivery
    RCPT_TO = 1  # indexed: recipients so far (rcpt: the one being added first)
    REMOTE_IP = 2
    HELO = 3  # ehlo: the name being given (the previous one is not visible)
    AUTH_ACCOUNT = 4
    LISTENER = 5
    ACCOUNT = 6  # delivery: the account the copy is for
    MAILBOX = 7  # delivery: the default mailbox
    QUEUE_ID = 8
    STAGE = 9


class PartField(enum.IntEnum):
    """The ``field`` argument of the ``part`` import."""

    MIME_TYPE = 0  # "type/subtype", lower case
    FILENAME = 1  # Content-Disposition filename, else Content-Type name
    DISPOSITION = 2  # "attachment", "inline", or absent
    CHARSET = 3
    SIZE = 4  # the encoded body size, as decimal text
