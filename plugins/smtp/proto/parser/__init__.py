"""The SMTP command parser: bytes of one command line to a frozen command dataclass.

:func:`parse_command` is the entry point; :mod:`.address` parses paths and
:mod:`.params` the ESMTP parameters.
"""

from plugins.smtp.proto.parser.address import parse_path
from plugins.smtp.proto.parser.command import NOT_IMPLEMENTED, VERBS, parse_command
from plugins.smtp.proto.parser.params import decode_xtext, mail_params, rcpt_params, split_params

__all__ = [
    "NOT_IMPLEMENTED",
    "VERBS",
    "decode_xtext",
    "mail_params",
    "parse_command",
    "parse_path",
    "rcpt_params",
    "split_params",
]
