"""One command line (without its CRLF) to a :data:`~plugins.smtp.proto.commands.Command`.

The verbs and their syntax (RFC 5321 §4.1.1, §4.1.2; RFC 3030 §2; RFC 3207 §4;
RFC 4954 §4)::

    ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
    helo = "HELO" SP Domain CRLF
    mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
           Forward-path ) [SP Rcpt-parameters] CRLF
    data = "DATA" CRLF
    bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF
    rset = "RSET" CRLF
    vrfy = "VRFY" SP String CRLF
    expn = "EXPN" SP String CRLF
    help = "HELP" [ SP String ] CRLF
    noop = "NOOP" [ SP String ] CRLF
    quit = "QUIT" CRLF
    starttls = "STARTTLS" CRLF
    auth = "AUTH" SP sasl-mech [SP initial-response] CRLF

Implementation notes (deliberate liberties, each common among servers):

* a space after ``FROM:`` / ``TO:`` is accepted, and so is trailing white space;
* the EHLO/HELO argument is any visible token (RFC 5321 §4.1.4 lets a server
  record but not refuse a name it cannot verify); an address literal in it must
  be well-formed;
* errors in EHLO/HELO replies carry no enhanced status code (RFC 2034 §3).

A line holding NUL, a bare CR or LF, or bytes that are not UTF-8 is a syntax
error (RFC 5321 §2.3.8: only CRLF ends a line).
"""

from __future__ import annotations

import re

from plugins.smtp.proto.codes import (
    C500_SYNTAX_ERROR,
    C501_ARGUMENT_ERROR,
    C502_NOT_IMPLEMENTED,
    ES_5_1_3_BAD_DESTINATION_SYNTAX,
    ES_5_1_7_BAD_SENDER_SYNTAX,
    ES_5_5_1_INVALID_COMMAND,
    ES_5_5_2_SYNTAX_ERROR,
    ES_5_5_4_INVALID_ARGUMENTS,
)
from plugins.smtp.proto.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Expn,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from plugins.smtp.proto.errors import RemoteProtocolError
from plugins.smtp.proto.parser.address import MAX_DOMAIN, parse_path
from plugins.smtp.proto.parser.params import mail_params, rcpt_params, split_params
from plugins.smtp.proto.responses import Reply

__all__ = ["NOT_IMPLEMENTED", "VERBS", "parse_command"]

#: Verbs this parser understands.
VERBS = frozenset(
    {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP"}
    | {"QUIT", "STARTTLS", "AUTH"}
)
#: RFC 5321 §4.2.4: recognized, not implemented (502), as opposed to unknown (500).
NOT_IMPLEMENTED = frozenset({"TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "VERB"})

_VISIBLE = re.compile(r"^[!-~\x80-\U0010ffff]+$")
_BDAT = re.compile(r"^([0-9]{1,18})(?: +(LAST))? *$", re.IGNORECASE)
# RFC 4422 §3.1: sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_"), case-insensitive here.
_MECHANISM = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_BARE = re.compile(rb"[\x00\r\n]")


def _error(code: int, status: str | None, text: str) -> RemoteProtocolError:
    return RemoteProtocolError(Reply.of(code, status, text))


def _no_arguments(verb: str, rest: str) -> None:
    if rest.strip():
        raise _error(C501_ARGUMENT_ERROR, ES_5_5_4_INVALID_ARGUMENTS, f"{verb} takes no arguments")


def _hello(rest: str, extended: bool) -> Ehlo:
    # RFC 2034 §3: replies to EHLO/HELO carry no enhanced status code.
    verb = "EHLO" if extended else "HELO"
    words = rest.split()
    if len(words) != 1 or not _VISIBLE.match(words[0]):
        raise _error(C501_ARGUMENT_ERROR, None, f"Syntax: {verb} hostname")
    domain = words[0]
    if len(domain.encode("utf-8", "surrogatepass")) > MAX_DOMAIN:
        raise _error(C501_ARGUMENT_ERROR, None, "hostname too long")
    if domain.startswith("["):
        try:
            parse_path(f"<x@{domain}>", 0, status="5.5.2")
        except RemoteProtocolError:
            raise _error(C501_ARGUMENT_ERROR, None, "malformed address literal") from None
    return Ehlo(domain, extended)


def _prefixed(rest: str, prefix: str, status: str) -> int:
    if rest[: len(prefix)].upper() != prefix:
        raise _error(C501_ARGUMENT_ERROR, status, f"Syntax: expected {prefix}<address>")
    pos = len(prefix)
    while rest.startswith(" ", pos):  # a liberty: "MAIL FROM: <a@b>"
        pos += 1
    return pos


def _mail(rest: str) -> Mail:
    status = ES_5_1_7_BAD_SENDER_SYNTAX
    pos = _prefixed(rest, "FROM:", status)
    sender, pos = parse_path(rest, pos, status=status, null_ok=True)
    return Mail(sender, mail_params(split_params(rest[pos:].rstrip(" "))))


def _rcpt(rest: str) -> Rcpt:
    status = ES_5_1_3_BAD_DESTINATION_SYNTAX
    pos = _prefixed(rest, "TO:", status)
    recipient, pos = parse_path(rest, pos, status=status, postmaster_ok=True)
    assert recipient is not None
    return Rcpt(recipient, rcpt_params(split_params(rest[pos:].rstrip(" "))))


def _bdat(rest: str) -> Bdat:
    match = _BDAT.match(rest.strip(" ") if rest.startswith(" ") else "-")
    if match is None:
        raise _error(C501_ARGUMENT_ERROR, ES_5_5_4_INVALID_ARGUMENTS, "Syntax: BDAT size [LAST]")
    return Bdat(int(match.group(1)), last=match.group(2) is not None)


def _auth(rest: str) -> Auth:
    words = rest.split()
    if not 1 <= len(words) <= 2 or not _MECHANISM.match(words[0]):
        raise _error(
            C501_ARGUMENT_ERROR,
            ES_5_5_4_INVALID_ARGUMENTS,
            "Syntax: AUTH mechanism [initial-response]",
        )
    return Auth(words[0].upper(), words[1] if len(words) == 2 else None)


def _argument(verb: str, rest: str) -> str:
    argument = rest.strip()
    if not argument:
        raise _error(C501_ARGUMENT_ERROR, ES_5_5_4_INVALID_ARGUMENTS, f"Syntax: {verb} string")
    return argument


def parse_command(line: bytes) -> Command:
    """Parse one command line, CRLF removed.

    Raises:
        RemoteProtocolError: with the reply for the client (500 unknown or
            malformed, 501 bad arguments, 502 not implemented, 555 unknown
            parameter).
    """
    if _BARE.search(line):
        raise _error(C500_SYNTAX_ERROR, ES_5_5_2_SYNTAX_ERROR, "NUL, bare CR or bare LF in command")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(C500_SYNTAX_ERROR, ES_5_5_2_SYNTAX_ERROR, "command is not UTF-8") from None
    word, space, rest = text.partition(" ")
    verb = word.upper()
    rest = space + rest
    if verb in ("EHLO", "HELO"):
        return _hello(rest, verb == "EHLO")
    if verb == "MAIL":
        return _mail(rest[1:])
    if verb == "RCPT":
        return _rcpt(rest[1:])
    if verb == "BDAT":
        return _bdat(rest)
    if verb == "AUTH":
        return _auth(rest)
    if verb in ("VRFY", "EXPN"):
        argument = _argument(verb, rest)
        return Vrfy(argument) if verb == "VRFY" else Expn(argument)
    if verb == "HELP":
        return Help(rest.strip())
    if verb == "NOOP":
        return Noop()
    simple: dict[str, Command] = {
        "DATA": Data(),
        "RSET": Rset(),
        "QUIT": Quit(),
        "STARTTLS": StartTls(),
    }
    if verb in simple:
        _no_arguments(verb, rest)
        return simple[verb]
    if verb in NOT_IMPLEMENTED:
        raise _error(C502_NOT_IMPLEMENTED, ES_5_5_1_INVALID_COMMAND, "command not implemented")
    raise _error(C500_SYNTAX_ERROR, ES_5_5_1_INVALID_COMMAND, "command not recognized")
