"""The result of a run: pending actions, the implicit keep, and per-message state.

Implementation notes:

- Duplicates are merged as RFC 5228 asks: storing twice into one mailbox stores once
  (§2.10.3; ``keep`` is ``fileinto "INBOX"``, §4.3), and a second redirect to the same
  address is ignored (§4.2). A merged store takes the last flags (RFC 5232 §5).
- Conflicts are run-time errors: a second ``reject``, ``reject`` with ``vacation``
  (RFC 5429 §2.4, RFC 5230 §4.7), ``reject`` with an action that delivers (RFC 5429
  §2.4 calls permitting it NOT RECOMMENDED), a second ``vacation``.
- The implicit keep (RFC 5228 §2.10.2) is cancelled by ``discard``, ``reject``,
  ``keep``, and by ``fileinto``/``redirect`` without ``:copy`` (RFC 3894 §3).
- The result also owns the state tied to the message being delivered: the edited view
  (editheader) and the imap4flags internal variable (RFC 5232 §3), which starts from
  the flags the message is stored with.
- ``max_actions``/``max_redirects`` (:class:`~plugins.sieve.limits.Limits`) are enforced
  when an action is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import final

from plugins.sieve.actions import (
    Action,
    Discard,
    DuplicateMark,
    FileInto,
    Keep,
    Notify,
    Redirect,
    Reject,
    Vacation,
)
from plugins.sieve.errors import SieveLimitExceeded, SieveRuntimeError
from plugins.sieve.message import MessageView

__all__ = ["DEFAULT_MAILBOX", "Result", "merge_flags"]

DEFAULT_MAILBOX = "INBOX"


def merge_flags(current: list[str], added: list[str]) -> list[str]:
    """RFC 5232 §3.2: ``added`` appended to ``current``, case-insensitively unique."""
    seen = {flag.lower() for flag in current}
    result = list(current)
    for flag in added:
        if flag and flag.lower() not in seen:
            seen.add(flag.lower())
            result.append(flag)
    return result


def _delivers(action: Action) -> bool:
    return isinstance(action, Keep | FileInto | Redirect)


@final
class Result:
    """Pending actions of one delivery, shared by every script run against it."""

    def __init__(self, message: MessageView, *, max_actions: int, max_redirects: int) -> None:
        self.message = message
        self.actions: list[Action] = []
        # The message each action stores or sends, when editheader changed it before the
        # action (RFC 5293 §7: actions see the header as it was then); None: unchanged.
        self.messages: list[bytes | None] = []
        self.implicit_keep = True
        self.max_actions = max_actions
        self.max_redirects = max_redirects
        self.executed = 0
        self.run_start = 0
        self._flags: list[str] | None = None

    # -- imap4flags internal variable ----------------------------------------------
    @property
    def flags(self) -> list[str]:
        """The imap4flags internal variable (RFC 5232 §3)."""
        if self._flags is None:
            self._flags = merge_flags([], list(self.message.flags))
        return self._flags

    @flags.setter
    def flags(self, value: list[str]) -> None:
        self._flags = value

    @property
    def flags_in_use(self) -> bool:
        """Whether a script of this delivery has used the flag variable."""
        return self._flags is not None

    def reset_message(self, message: MessageView) -> None:
        """Use a new message: edits and the flag variable are dropped with the old one."""
        self.message = message
        self._flags = None

    def begin_run(self) -> None:
        """Mark the start of another script's run against this result.

        Conflicts with actions of earlier runs are resolved gracefully (the later
        action is dropped) instead of failing the run, as when a message passes
        through an administrator's script and then the user's.
        """
        self.run_start = len(self.actions)

    # -- actions -------------------------------------------------------------------
    def _store_target(self, action: Action) -> str | None:
        if isinstance(action, Keep):
            return DEFAULT_MAILBOX
        if isinstance(action, FileInto):
            return action.mailbox
        return None

    def _merge_store(self, action: Keep | FileInto) -> bool:
        target = self._store_target(action)
        for index, existing in enumerate(self.actions):
            if self._store_target(existing) != target:
                continue
            assert isinstance(existing, Keep | FileInto)
            if isinstance(action, Keep) and isinstance(existing, FileInto):
                # RFC 5228 §4.3: keep is fileinto "INBOX"; the explicit keep stands.
                existing = Keep(existing.flags)
                self.actions[index] = existing
            if action.flags is not None:
                # RFC 5232 §5: with duplicate elimination, "the last flag list value
                # MUST win".
                self.actions[index] = replace(existing, flags=action.flags)
            return True
        return False

    def _check_conflicts(self, action: Action) -> str | None:
        rejects = [a for a in self.actions[self.run_start :] if isinstance(a, Reject)]
        if isinstance(action, Reject):
            if rejects:
                return "more than one reject/ereject action"
            if any(isinstance(a, Vacation) for a in self.actions[self.run_start :]):
                return "reject cannot be combined with vacation"
            if any(_delivers(a) for a in self.actions[self.run_start :]):
                return "reject cannot be combined with actions that deliver the message"
        elif rejects and (_delivers(action) or isinstance(action, Vacation)):
            return f"{action.name} cannot be combined with reject"
        if isinstance(action, Vacation) and any(
            isinstance(a, Vacation) for a in self.actions[self.run_start :]
        ):
            return "more than one vacation action"
        return None

    def _earlier_conflict(self, action: Action) -> bool:
        """Whether ``action`` conflicts with an action of an earlier run (dropped)."""
        earlier = self.actions[: self.run_start]
        if isinstance(action, Reject | Vacation):
            return any(isinstance(a, type(action)) for a in earlier)
        return False

    def add(self, action: Action, line: int = 0, column: int = 0) -> None:
        """Add ``action``, merging duplicates and cancelling the implicit keep.

        Raises:
            SieveRuntimeError: the action conflicts with one already in the result.
            SieveLimitExceeded: too many actions or redirects.
        """
        problem = self._check_conflicts(action)
        if problem:
            raise SieveRuntimeError(problem, line, column)
        if self._earlier_conflict(action):
            return
        if isinstance(action, Keep | FileInto | Reject | Discard) and not (
            isinstance(action, FileInto) and action.copy
        ):
            self.implicit_keep = False
        if isinstance(action, Redirect) and not action.copy:
            self.implicit_keep = False
        if isinstance(action, Keep | FileInto) and self._merge_store(action):
            return
        if isinstance(action, Redirect):
            for existing in self.actions:
                if (
                    isinstance(existing, Redirect)
                    and existing.address.lower() == action.address.lower()
                ):
                    return
            if sum(isinstance(a, Redirect) for a in self.actions) >= self.max_redirects:
                raise SieveLimitExceeded(
                    f"more than {self.max_redirects} redirect actions", line, column
                )
        if isinstance(action, Discard | DuplicateMark) and action in self.actions:
            return
        if isinstance(action, Notify) and action in self.actions:
            return
        if len(self.actions) >= self.max_actions:
            raise SieveLimitExceeded(
                f"total number of actions exceeds the limit of {self.max_actions}", line, column
            )
        self.actions.append(action)
        edited = isinstance(action, Keep | FileInto | Redirect) and self.message.edited
        self.messages.append(self.message.to_bytes() if edited else None)

    def discard_actions(self, unwanted: Callable[[Action], bool]) -> None:
        """Drop the pending actions for which ``unwanted`` is true."""
        kept = [(a, m) for a, m in zip(self.actions, self.messages, strict=True) if not unwanted(a)]
        self.actions = [a for a, _ in kept]
        self.messages = [m for _, m in kept]

    def final_actions(self) -> list[Action]:
        """The actions to perform, with the implicit keep added when it is still due."""
        actions = list(self.actions)
        if self.implicit_keep:
            flags = tuple(self._flags) if self._flags is not None else None
            actions.append(Keep(flags, implicit=True))
        return actions
