"""SMTP reply codes and enhanced status codes as named constants.

Reply codes are those of RFC 5321 §4.2.2-§4.2.3 plus the AUTH codes of RFC 4954
§6; enhanced status codes are ``class.subject.detail`` of RFC 3463 §3 (RFC 2034
§4: every 2xx/4xx/5xx reply line except the greeting and the EHLO/HELO replies
carries one, and its class agrees with the reply code). Names carry the number
so a reader sees the wire value: ``C550_MAILBOX_UNAVAILABLE``,
``ES_5_1_1_BAD_MAILBOX``.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------
# Reply codes. RFC 5321 §4.2.3 unless noted.
# --------------------------------------------------------------------------

#: RFC 5321 §4.2.3: help message.
C214_HELP: Final = 214
#: RFC 5321 §4.2.3: <domain> Service ready (the greeting; STARTTLS go-ahead, RFC 3207 §4).
C220_READY: Final = 220
#: RFC 5321 §4.2.3: <domain> Service closing transmission channel.
C221_CLOSING: Final = 221
#: RFC 4954 §6: Authentication succeeded.
C235_AUTH_SUCCEEDED: Final = 235
#: RFC 5321 §4.2.3: Requested mail action okay, completed.
C250_COMPLETED: Final = 250
#: RFC 5321 §3.5.3: Cannot VRFY user, but will accept message and attempt delivery.
C252_CANNOT_VERIFY: Final = 252
#: RFC 4954 §4: a SASL challenge (base64 text only).
C334_AUTH_CHALLENGE: Final = 334
#: RFC 5321 §4.2.3: Start mail input; end with <CRLF>.<CRLF>.
C354_START_INPUT: Final = 354
#: RFC 5321 §4.2.3: Service not available, closing transmission channel.
C421_SERVICE_UNAVAILABLE: Final = 421
#: RFC 5321 §4.2.3: Requested action aborted: local error in processing.
C451_LOCAL_ERROR: Final = 451
#: RFC 5321 §4.2.3: Requested action not taken: insufficient system storage
#: (also "too many recipients", §4.5.3.1.10).
C452_INSUFFICIENT_STORAGE: Final = 452
#: RFC 4954 §6: Temporary authentication failure; RFC 3207 §4: TLS not available.
C454_TEMPORARY_FAILURE: Final = 454
#: RFC 5321 §4.2.3: Syntax error, command unrecognized (also "line too long").
C500_SYNTAX_ERROR: Final = 500
#: RFC 5321 §4.2.3: Syntax error in parameters or arguments.
C501_ARGUMENT_ERROR: Final = 501
#: RFC 5321 §4.2.3: Command not implemented (§4.2.4: recognized but not implemented).
C502_NOT_IMPLEMENTED: Final = 502
#: RFC 5321 §4.2.3: Bad sequence of commands.
C503_BAD_SEQUENCE: Final = 503
#: RFC 5321 §4.2.3: Command parameter not implemented; RFC 4954 §4: unknown mechanism.
C504_PARAMETER_NOT_IMPLEMENTED: Final = 504
#: RFC 4954 §6: Authentication required.
C530_AUTH_REQUIRED: Final = 530
#: RFC 4954 §6: Authentication credentials invalid.
C535_AUTH_INVALID: Final = 535
#: RFC 4954 §6: Encryption required for requested authentication mechanism.
C538_ENCRYPTION_REQUIRED: Final = 538
#: RFC 5321 §4.2.3: Requested action not taken: mailbox unavailable.
C550_MAILBOX_UNAVAILABLE: Final = 550
#: RFC 5321 §4.2.3: Requested mail action aborted: exceeded storage allocation.
C552_STORAGE_EXCEEDED: Final = 552
#: RFC 5321 §4.2.3: Requested action not taken: mailbox name not allowed.
C553_MAILBOX_NAME_NOT_ALLOWED: Final = 553
#: RFC 5321 §4.2.3: Transaction failed (or, at connect, "No SMTP service here").
C554_TRANSACTION_FAILED: Final = 554
#: RFC 5321 §4.1.1.11: MAIL FROM/RCPT TO parameters not recognized or not implemented.
C555_PARAMETERS_NOT_RECOGNIZED: Final = 555

# --------------------------------------------------------------------------
# Enhanced status codes. RFC 3463 §3.x unless noted.
# --------------------------------------------------------------------------

#: RFC 3463 §3.1: success, nothing more to say.
ES_2_0_0_OK: Final = "2.0.0"
#: RFC 3463 §3.2 (X.1.0): the sender address is fine.
ES_2_1_0_SENDER_OK: Final = "2.1.0"
#: RFC 3463 §3.2 (X.1.5): destination address valid.
ES_2_1_5_DESTINATION_OK: Final = "2.1.5"
#: RFC 4954 §6: authentication succeeded.
ES_2_7_0_AUTH_OK: Final = "2.7.0"
#: RFC 3463 §3.3 (X.2.2): mailbox full (temporary).
ES_4_2_2_MAILBOX_FULL: Final = "4.2.2"
#: RFC 3463 §3.4 (X.3.0): other or undefined mail system status.
ES_4_3_0_SYSTEM: Final = "4.3.0"
#: RFC 3463 §3.4 (X.3.2): system not accepting network messages (shutting down).
ES_4_3_2_NOT_ACCEPTING: Final = "4.3.2"
#: RFC 3463 §3.5 (X.4.0): other or undefined network or routing status.
ES_4_4_0_ROUTING: Final = "4.4.0"
#: RFC 3463 §3.5 (X.4.2): bad connection (timeout).
ES_4_4_2_BAD_CONNECTION: Final = "4.4.2"
#: RFC 3463 §3.6 (X.5.3): too many recipients.
ES_4_5_3_TOO_MANY_RECIPIENTS: Final = "4.5.3"
#: RFC 3463 §3.8 (X.7.0): other security status (rate limits, TLS unavailable).
ES_4_7_0_SECURITY: Final = "4.7.0"
#: RFC 3463 §3.3 (X.2.1): mailbox disabled.
ES_5_2_1_MAILBOX_DISABLED: Final = "5.2.1"
#: RFC 3463 §3.2 (X.1.1): bad destination mailbox address.
ES_5_1_1_BAD_MAILBOX: Final = "5.1.1"
#: RFC 3463 §3.2 (X.1.3): bad destination mailbox address syntax.
ES_5_1_3_BAD_DESTINATION_SYNTAX: Final = "5.1.3"
#: RFC 3463 §3.2 (X.1.7): bad sender's mailbox address syntax.
ES_5_1_7_BAD_SENDER_SYNTAX: Final = "5.1.7"
#: RFC 3463 §3.3 (X.2.2): mailbox full (permanent: the message can never fit).
ES_5_2_2_MAILBOX_FULL: Final = "5.2.2"
#: RFC 3463 §3.4 (X.3.4): message too big for system.
ES_5_3_4_TOO_BIG: Final = "5.3.4"
#: RFC 3463 §3.5 (X.4.6): routing loop detected.
ES_5_4_6_ROUTING_LOOP: Final = "5.4.6"
#: RFC 3463 §3.6 (X.5.1): invalid command (also bad sequence).
ES_5_5_1_INVALID_COMMAND: Final = "5.5.1"
#: RFC 3463 §3.6 (X.5.2): syntax error.
ES_5_5_2_SYNTAX_ERROR: Final = "5.5.2"
#: RFC 3463 §3.6 (X.5.3): too many recipients (permanent form).
ES_5_5_3_TOO_MANY_RECIPIENTS: Final = "5.5.3"
#: RFC 3463 §3.6 (X.5.4): invalid command arguments.
ES_5_5_4_INVALID_ARGUMENTS: Final = "5.5.4"
#: RFC 4954 §4: authentication exchange line is too long.
ES_5_5_6_AUTH_LINE_TOO_LONG: Final = "5.5.6"
#: RFC 3463 §3.7 (X.6.0): other or undefined media error (bare CR/LF, NUL).
ES_5_6_0_MEDIA_ERROR: Final = "5.6.0"
#: RFC 6531 §3.5 (X.6.7): non-ASCII addresses not permitted for that sender/recipient.
ES_5_6_7_NON_ASCII_ADDRESS: Final = "5.6.7"
#: RFC 3463 §3.8 (X.7.0): other security status; RFC 4954 §6: authentication required.
ES_5_7_0_SECURITY: Final = "5.7.0"
#: RFC 3463 §3.8 (X.7.1): delivery not authorized, message refused (relaying denied).
ES_5_7_1_NOT_AUTHORIZED: Final = "5.7.1"
#: RFC 4954 §6: authentication credentials invalid.
ES_5_7_8_AUTH_INVALID: Final = "5.7.8"
#: RFC 4954 §6: encryption required for requested authentication mechanism.
ES_5_7_11_ENCRYPTION_REQUIRED: Final = "5.7.11"
