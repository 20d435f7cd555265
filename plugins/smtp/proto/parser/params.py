"""ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2) and the values this server knows.

::

    Mail-parameters = esmtp-param *(SP esmtp-param)
    esmtp-param     = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value     = 1*(%d33-60 / %d62-126)   ; RFC 6531 §3.3 adds UTF8-non-ascii

Known parameters: SIZE (RFC 1870 §6), BODY (RFC 6152 §2; RFC 3030 §3),
SMTPUTF8 (RFC 6531 §3.4), RET and ENVID (RFC 3461 §4.3-4.4), AUTH (RFC 4954
§5) on MAIL; NOTIFY and ORCPT (RFC 3461 §4.1-4.2) on RCPT. An unknown keyword is
``555 5.5.4`` (RFC 5321 §4.1.1.11); a known keyword with a bad value, or given
twice, is ``501 5.5.4``.

Implementation notes:

* Several spaces between parameters are accepted (a liberty; RFC 5321 asks for one).
* xtext (RFC 3461 §4): ``xchar`` is ``!`` to ``~`` except ``+`` and ``=``; ``+XX`` is
  an octet in upper-case hex. Decoded values that are not UTF-8 are refused.
"""

from __future__ import annotations

import re

from plugins.smtp.proto.codes import (
    C501_ARGUMENT_ERROR,
    C555_PARAMETERS_NOT_RECOGNIZED,
    ES_5_5_4_INVALID_ARGUMENTS,
)
from plugins.smtp.proto.commands import MailParams, RcptParams
from plugins.smtp.proto.errors import RemoteProtocolError
from plugins.smtp.proto.responses import Reply

__all__ = ["decode_xtext", "mail_params", "rcpt_params", "split_params"]

_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_VALUE = re.compile(r"^[!-<>-~\x80-\U0010ffff]+$")
_XTEXT = re.compile(r"^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_ADDR_TYPE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")

Params = list[tuple[str, str | None]]

#: RFC 3461 §4.4: ENVID is at most 100 characters; §4.2: ORCPT at most 500.
MAX_ENVID = 100
MAX_ORCPT = 500


def _bad(text: str) -> RemoteProtocolError:
    return RemoteProtocolError(Reply.of(C501_ARGUMENT_ERROR, ES_5_5_4_INVALID_ARGUMENTS, text))


def _unknown(keyword: str) -> RemoteProtocolError:
    # RFC 5321 §4.1.1.11: parameters not recognized or not implemented.
    return RemoteProtocolError(
        Reply.of(
            C555_PARAMETERS_NOT_RECOGNIZED,
            ES_5_5_4_INVALID_ARGUMENTS,
            f"parameter {keyword[:40]} not recognized",
        )
    )


def split_params(text: str) -> Params:
    """Split ``text`` (what follows the path) into ``(KEYWORD, value)`` pairs.

    Raises:
        RemoteProtocolError: malformed syntax or a keyword given twice.
    """
    if text and not text.startswith(" "):
        raise _bad("expected a space before the parameters")
    out: Params = []
    seen: set[str] = set()
    for item in text.split(" "):
        if not item:
            continue
        keyword, eq, value = item.partition("=")
        if not _KEYWORD.match(keyword) or (eq and not _VALUE.match(value)):
            raise _bad(f"malformed parameter {item[:40]}")
        keyword = keyword.upper()
        if keyword in seen:
            raise _bad(f"parameter {keyword[:40]} given twice")
        seen.add(keyword)
        out.append((keyword, value if eq else None))
    return out


def decode_xtext(value: str) -> str:
    """Decode RFC 3461 §4 xtext.

    Raises:
        RemoteProtocolError: not xtext, or not UTF-8 once decoded.
    """
    if not _XTEXT.match(value):
        raise _bad("malformed xtext")
    raw = re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise _bad("xtext is not UTF-8") from None


def _flag(keyword: str, value: str | None) -> None:
    if value is not None:
        raise _bad(f"{keyword} takes no value")


def _needs(keyword: str, value: str | None) -> str:
    if value is None:
        raise _bad(f"{keyword} needs a value")
    return value


def mail_params(pairs: Params) -> MailParams:
    """The MAIL parameters from ``pairs``; see the module docstring for the rules."""
    found: dict[str, object] = {}
    for keyword, value in pairs:
        if keyword == "SIZE":
            # RFC 1870 §6: size-value ::= 1*20DIGIT
            text = _needs(keyword, value)
            if not _DIGITS.match(text):
                raise _bad("SIZE must be a number")
            found["size"] = int(text)
        elif keyword == "BODY":
            # RFC 6152 §2; RFC 3030 §3: BODY=7BIT / 8BITMIME / BINARYMIME.
            body = _needs(keyword, value).upper()
            if body not in ("7BIT", "8BITMIME", "BINARYMIME"):
                raise _bad("BODY must be 7BIT, 8BITMIME or BINARYMIME")
            found["body"] = body
        elif keyword == "SMTPUTF8":
            # RFC 6531 §3.4: the parameter takes no value.
            _flag(keyword, value)
            found["smtputf8"] = True
        elif keyword == "RET":
            ret = _needs(keyword, value).upper()
            if ret not in ("FULL", "HDRS"):
                raise _bad("RET must be FULL or HDRS")
            found["ret"] = ret
        elif keyword == "ENVID":
            envid = decode_xtext(_needs(keyword, value))
            if len(envid) > MAX_ENVID:
                raise _bad("ENVID is too long")
            found["envid"] = envid
        elif keyword == "AUTH":
            # RFC 4954 §5: AUTH=<> or AUTH=xtext(mailbox).
            auth = _needs(keyword, value)
            found["auth"] = "<>" if auth == "<>" else decode_xtext(auth)
        else:
            raise _unknown(keyword)
    return MailParams(raw=tuple(pairs), **found)  # type: ignore[arg-type]


def rcpt_params(pairs: Params) -> RcptParams:
    """The RCPT parameters from ``pairs``; see the module docstring for the rules."""
    notify: frozenset[str] | None = None
    orcpt: tuple[str, str] | None = None
    for keyword, value in pairs:
        if keyword == "NOTIFY":
            # RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" )
            items = [v.upper() for v in _needs(keyword, value).split(",")]
            allowed = {"SUCCESS", "FAILURE", "DELAY"}
            if items != ["NEVER"] and not (set(items) <= allowed and len(set(items)) == len(items)):
                raise _bad("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
            notify = frozenset(items)
        elif keyword == "ORCPT":
            # RFC 3461 §4.2: ORCPT=addr-type ";" xtext
            text = _needs(keyword, value)
            if len(text) > MAX_ORCPT:
                raise _bad("ORCPT is too long")
            kind, semi, address = text.partition(";")
            if not semi or not _ADDR_TYPE.match(kind) or not address:
                raise _bad("ORCPT must be addr-type;address")
            orcpt = (kind.lower(), decode_xtext(address))
        else:
            raise _unknown(keyword)
    return RcptParams(notify=notify, orcpt=orcpt, raw=tuple(pairs))
