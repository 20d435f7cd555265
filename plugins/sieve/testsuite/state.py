"""The Pigeonhole testsuite's environment: message, envelope, mail store, SMTP queue,
error log and settings, and the host the scripts under test talk to.

Implementation notes:

- The environment follows the suite's README §6: a store holding only ``INBOX`` with
  ``.`` as hierarchy separator, no duplicate or vacation tracking, the postmaster at
  ``postmaster@example.com``, environment ``name`` "Pigeonhole Sieve" and ``location``
  "MS", the local time zone for dates.
- ``test_config_set`` keys (README §5) map onto :class:`~plugins.sieve.settings.Settings`
  and :class:`~plugins.sieve.limits.Limits`; changes apply at once (every use in the
  suite is followed by the matching reload).
- Outgoing messages are composed with :mod:`plugins.sieve.compose` exactly as delivery
  would; the store and queue are plain lists.
"""

from __future__ import annotations

import dataclasses
import getpass
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, final

from kernel.mail import Address, Group, parse_address_list
from plugins.sieve.addresses import parse_smtp_path
from plugins.sieve.compiled import CompiledScript
from plugins.sieve.host import Envelope
from plugins.sieve.interpreter import Interpreter
from plugins.sieve.message import MessageView
from plugins.sieve.result import Result
from plugins.sieve.settings import ScoreSource, Settings

__all__ = ["INITIAL_MESSAGE", "StoredMessage", "SuiteHost", "SuiteState", "derive_envelope"]

INITIAL_MESSAGE = b"From: sender@example.com\nTo: recipient@example.org\nSubject: Frop!\n\nFriep!\n"
POSTMASTER = "postmaster@example.com"
_DURATION = re.compile(r"\s*(\d+)\s*([smhd]?)\s*", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_EXTENSIONS_WITH_CONFIG = frozenset(
    {
        "editheader",
        "enotify",
        "include",
        "spamtest",
        "spamtestplus",
        "subaddress",
        "vacation",
        "variables",
        "virustest",
    }
)


@final
@dataclass
class StoredMessage:
    """A message in the test mail store."""

    data: bytes
    flags: tuple[str, ...] = ()


def _first_address(message: MessageView, names: tuple[str, ...]) -> str | None:
    for name in names:
        for value in message.raw_values(name):
            for item in parse_address_list(value, decode=False):
                members = item.addresses if isinstance(item, Group) else (item,)
                for member in members:
                    if isinstance(member, Address) and member.email:
                        return member.email
    return None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "user"


def derive_envelope(message: MessageView) -> Envelope:
    """README §4.3: the envelope the suite derives from a new current message."""
    sender = _first_address(message, ("return-path", "sender", "from")) or "sender@example.com"
    recipient = _first_address(message, ("envelope-to", "to")) or "recipient@example.com"
    return Envelope(sender, recipient, recipient, _os_user())


def parse_path(value: str) -> str:
    """An SMTP path as ``test_set "envelope.*"`` takes it: brackets optional; a value
    that does not parse is kept as written (the ``envelope`` test then matches nothing).
    """
    parsed = parse_smtp_path(value)
    return value.strip() if parsed is None else parsed


def _duration(value: str) -> int | None:
    found = _DURATION.fullmatch(value)
    if found is None:
        return None
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def _score_source(config: dict[str, str], prefix: str, values: int) -> ScoreSource | None:
    header = config.get(f"{prefix}_status_header")
    if not header:
        return None
    max_value = config.get(f"{prefix}_max_value")
    try:
        maximum = float(max_value) if max_value else None
    except ValueError:
        maximum = None
    return ScoreSource(
        status_type=config.get(f"{prefix}_status_type", "score").strip().lower(),
        status_header=header,
        max_value=maximum,
        max_header=config.get(f"{prefix}_max_header") or None,
        text_values=tuple(config.get(f"{prefix}_text_value{i}") for i in range(1, values + 1)),
    )


def _yes(config: dict[str, str], key: str) -> bool:
    return config.get(key, "").strip().lower() in ("yes", "true", "1")


def settings_from_config(config: dict[str, str]) -> tuple[Settings, dict[str, Any]]:
    """README §5: Pigeonhole setting names to :class:`Settings` and limit overrides."""
    settings: dict[str, Any] = {
        "postmaster": POSTMASTER,
        "user_email": config.get("sieve_user_email") or None,
        "redirect_envelope_from": config.get("sieve_redirect_envelope_from", "sender"),
        "notify_envelope_from": config.get("sieve_notify_mailto_envelope_from", ""),
        "spamtest": _score_source(config, "sieve_spamtest", 10),
        "virustest": _score_source(config, "sieve_virustest", 5),
        "vacation_send_from_recipient": _yes(config, "sieve_vacation_send_from_recipient"),
        "vacation_to_header_ignore_envelope": _yes(
            config, "sieve_vacation_to_header_ignore_envelope"
        ),
        "vacation_use_original_recipient": _yes(config, "sieve_vacation_use_original_recipient"),
        "vacation_dont_check_recipient": _yes(config, "sieve_vacation_dont_check_recipient"),
        "vacation_default_subject": config.get("sieve_vacation_default_subject", ""),
        "vacation_subject_template": config.get("sieve_vacation_default_subject_template", ""),
    }
    if "recipient_delimiter" in config:
        settings["recipient_delimiter"] = config["recipient_delimiter"]
    for key, name in (
        ("sieve_editheader_protected", "editheader_protected"),
        ("sieve_editheader_forbid_add", "editheader_forbid_add"),
        ("sieve_editheader_forbid_delete", "editheader_forbid_delete"),
    ):
        settings[name] = frozenset(config.get(key, "").split())
    period = _duration(config.get("sieve_vacation_min_period", ""))
    if period is not None:
        settings["vacation_min_period"] = period
    codepoints = config.get("sieve_vacation_max_subject_codepoints", "").strip()
    if codepoints.isdigit():
        settings["vacation_max_subject_codepoints"] = int(codepoints)
    size = config.get("sieve_variables_max_variable_size", "").strip()
    if size.isdigit():
        settings["max_variable_size"] = max(int(size), 4000)
    limits: dict[str, Any] = {}
    header_size = config.get("sieve_editheader_max_header_size", "").strip()
    if header_size.isdigit():
        limits["max_header_size"] = max(int(header_size), 1024)
    for key, name in (
        ("sieve_include_max_includes", "max_includes"),
        ("sieve_include_max_nesting_depth", "max_include_depth"),
    ):
        value = config.get(key, "").strip()
        if value.isdigit():
            limits[name] = int(value)
    cpu = _duration(config.get("sieve_max_cpu_time", ""))
    if cpu is not None:
        limits["max_run_seconds"] = float(cpu)
    return Settings(**settings), limits


@final
class SuiteState:
    """Everything one ``.svtest`` file's run shares between blocks and sub-scripts."""

    def __init__(self, test_file: Path, interpreter: Interpreter) -> None:
        self.test_file = test_file
        self.test_dir = test_file.parent
        self.interpreter = interpreter
        self.base_limits = interpreter.limits
        self.config: dict[str, str] = {}
        self.apply_config()
        self.message = MessageView(INITIAL_MESSAGE)
        self.envelope = derive_envelope(self.message)
        self.result: Result = interpreter.new_result(self.message)
        self.mailboxes: dict[str, list[StoredMessage]] = {"INBOX": []}
        self.mailbox_metadata: dict[tuple[str, str], str] = {}
        self.server_metadata: dict[str, str] = {}
        self.smtp: list[tuple[str, str, bytes]] = []
        self.errors: list[str] = []
        self.compiled: CompiledScript | None = None
        self.binaries: dict[str, str] = {}
        self.message_counter = 0
        self.portable_checks = False
        # Block bookkeeping (see plugins.sieve.testsuite.commands).
        self.blocks: list[Any] = []
        self.skip_blocks: dict[str, str] = {}
        self.current: Any = None
        # Per result: recipients already notified, and whether the implicit keep ran.
        self.notified: set[str] = set()
        self.implicit_kept = False
        self.run_failed = False

    # -- settings -----------------------------------------------------------------
    def apply_config(self) -> None:
        """Rebuild the interpreter's settings and limits from :attr:`config`."""
        settings, limits = settings_from_config(self.config)
        self.interpreter.settings = settings
        self.interpreter.limits = dataclasses.replace(self.base_limits, **limits)

    @staticmethod
    def known_extension(name: str) -> bool:
        """Whether ``test_config_reload :extension`` accepts ``name``."""
        return name in _EXTENSIONS_WITH_CONFIG

    # -- message and result ---------------------------------------------------------
    def set_message(self, data: bytes, flags: tuple[str, ...] = ()) -> None:
        """Make ``data`` the current message and derive the envelope from it."""
        self.message = MessageView(data, flags)
        self.result.reset_message(MessageView(data, flags))
        self.envelope = derive_envelope(self.message)

    def reset_result(self, *, keep_queue: bool = False) -> None:
        """Start a fresh result (README §4.8)."""
        self.result = self.interpreter.new_result(MessageView(self.message.raw, self.message.flags))
        self.notified = set()
        self.implicit_kept = False
        self.run_failed = False
        if not keep_queue:
            self.smtp.clear()

    def next_message_id(self) -> str:
        """A unique Message-ID for a generated message."""
        self.message_counter += 1
        return f"sieve-test.{self.message_counter}@example.com"

    def now(self) -> datetime:
        """The local date and time."""
        return datetime.now().astimezone()


@final
@dataclass
class SuiteHost:
    """The :class:`~plugins.sieve.host.Host` of the suite, over :class:`SuiteState`."""

    state: SuiteState
    items: dict[str, str] = field(
        default_factory=lambda: {
            "name": "Pigeonhole Sieve",
            "version": "0.5.19",
            "location": "MS",
            "phase": "during",
            "domain": "example.com",
            "host": "localhost",
        }
    )

    def mailbox_exists(self, name: str) -> bool:
        """Whether the store has ``name``."""
        return name in self.state.mailboxes

    def special_use_exists(self, mailbox: str | None, uses: tuple[str, ...]) -> bool:
        """The test store has no special-use mailboxes."""
        return False

    def mailbox_id_exists(self, mailbox_id: str) -> bool:
        """The test store has no mailbox ids."""
        return False

    def metadata(self, mailbox: str | None, entry: str) -> str | None:
        """A METADATA entry set by ``test_imap_metadata_set``."""
        if mailbox is None:
            return self.state.server_metadata.get(entry.lower())
        return self.state.mailbox_metadata.get((mailbox, entry.lower()))

    def duplicate_seen(self, key: str) -> bool:
        """No duplicate tracking in the suite (README §6)."""
        return False

    def include(self, name: str, location: str) -> str | bytes | CompiledScript | None:
        """README §6: ``included/`` or ``included-global/`` next to the test file."""
        folder = "included-global" if location == "global" else "included"
        path = self.state.test_dir / folder / f"{name}.sieve"
        try:
            return path.read_bytes()
        except OSError:
            return None

    def environment(self, name: str) -> str | None:
        """The suite's environment items."""
        return self.items.get(name)

    def now(self) -> datetime:
        """The local date and time."""
        return self.state.now()
