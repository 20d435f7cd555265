"""Carry out a result in the testsuite's store and SMTP queue (``test_result_execute``).

This is what a delivery host does with an :class:`~plugins.sieve.interpreter.Outcome`,
against in-memory stand-ins: stores go to :attr:`SuiteState.mailboxes`, messages to
:attr:`SuiteState.smtp` (one entry per recipient).

Implementation notes:

- Only actions added since the last execution run (README §4.7); the implicit keep
  runs once, when the result still calls for it.
- ``fileinto`` into a missing mailbox without ``:create``, or into an invalid name, is
  an execution error; the message is then kept in ``INBOX`` instead (as Pigeonhole
  does, RFC 5228 §2.10.6).
- Redirected copies go through :func:`plugins.sieve.compose.redirect_message`, which
  adds the loop-protection field and drops a redirect that would loop.
- Mailbox names are valid when they are UTF-8 without empty hierarchy levels.
"""

from __future__ import annotations

from plugins.sieve.actions import FileInto, Keep, Notify, Redirect, Reject, Vacation
from plugins.sieve.compose import OutgoingMessage, notify_messages, redirect_message, reject_message
from plugins.sieve.extensions.delivery import valid_utf8
from plugins.sieve.extensions.vacation import vacation_reply
from plugins.sieve.result import DEFAULT_MAILBOX
from plugins.sieve.testsuite.state import StoredMessage, SuiteState

__all__ = ["execute_result", "valid_mailbox_name"]


def valid_mailbox_name(name: str) -> bool:
    """Whether the test store accepts ``name`` (separator ``.``, filesystem-like)."""
    if not name or not valid_utf8(name) or "//" in name or name.startswith("/"):
        return False
    return all(level for level in name.split("."))


def _store(state: SuiteState, mailbox: str, data: bytes, flags: tuple[str, ...] | None) -> None:
    state.mailboxes[mailbox].append(StoredMessage(data, tuple(flags or ())))


def _queue(state: SuiteState, message: OutgoingMessage | None) -> None:
    if message is None:
        return
    for recipient in message.recipients:
        state.smtp.append((message.mail_from, recipient, message.data))


def _redirect(state: SuiteState, action: Redirect, data: bytes) -> None:
    settings = state.interpreter.settings
    _queue(state, redirect_message(action, state.envelope, data, settings))


def execute_result(state: SuiteState) -> bool:
    """Execute the pending actions of the current result; False when one failed."""
    result = state.result
    settings = state.interpreter.settings
    data = result.message.to_bytes()
    start = result.executed
    result.executed = len(result.actions)
    ok = True
    for action, snapshot in zip(result.actions[start:], result.messages[start:], strict=True):
        message = snapshot if snapshot is not None else state.message.raw
        if isinstance(action, Keep):
            _store(state, DEFAULT_MAILBOX, message, action.flags)
        elif isinstance(action, FileInto):
            mailbox = action.mailbox
            if not valid_mailbox_name(mailbox):
                state.errors.append(f"failed to store into mailbox '{mailbox}': invalid name")
                ok = False
                continue
            if mailbox not in state.mailboxes:
                if not action.create:
                    state.errors.append(
                        f"failed to store into mailbox '{mailbox}': mailbox does not exist"
                    )
                    ok = False
                    continue
                state.mailboxes[mailbox] = []
            _store(state, mailbox, message, action.flags)
        elif isinstance(action, Redirect):
            _redirect(state, action, message)
        elif isinstance(action, Reject):
            _queue(
                state,
                reject_message(
                    action,
                    state.envelope,
                    state.message,
                    settings,
                    state.now(),
                    state.next_message_id(),
                ),
            )
        elif isinstance(action, Vacation):
            _queue(
                state,
                vacation_reply(
                    action,
                    state.envelope,
                    result.message,
                    settings,
                    state.now(),
                    state.next_message_id(),
                ),
            )
        elif isinstance(action, Notify):
            for outgoing in notify_messages(
                action,
                state.envelope,
                result.message,
                settings,
                state.now(),
                state.next_message_id(),
                state.notified,
            ):
                _queue(state, outgoing)
    keep_due = result.implicit_keep and not state.implicit_kept
    if not ok or state.run_failed:
        # RFC 5228 §2.10.6 with RFC 5293 §7: keep the original message.
        _store(state, DEFAULT_MAILBOX, state.message.raw, None)
        state.implicit_kept = True
    elif keep_due:
        flags = tuple(result.flags) if result.flags else None
        _store(state, DEFAULT_MAILBOX, data, flags)
        state.implicit_kept = True
    return ok
