"""A synthetic mailbox corpus for the store benchmark (``bench_store.py``).

Messages are plain-text RFC 5322 messages of 3-6 KB, reproducible from a seed:

* the From address is one of :data:`SENDERS` senders: the first
  :data:`FREQUENT` of them send 1% of the mail each, the others share the rest,
  so that ``FROM x`` selects between about 0.04% and 1% of a mailbox;
* subjects are 3-8 words and bodies 3-6 KB of 72-column lines, both drawn
  from a vocabulary of :data:`VOCABULARY` pronounceable made-up words (the
  commoner the shorter) with a Zipf distribution (word ``r`` is drawn with a
  weight of ``1/r``), so that a body search for a rare word hits a few hundred
  messages of 100,000 and for a common one most. To keep generation cheap
  (the benchmark's own process generates while it appends), a body is a random
  draw of lines from a pool of :data:`LINES` lines drawn once;
* a quarter are replies (``Re:``, ``In-Reply-To``, ``References``) to one of
  the last thousand messages, so that threads form;
* 70% are seen (``$seen``), and the received time is spread uniformly over
  the two years before :data:`NOW`, the Date field a few minutes earlier.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["FREQUENT", "NOW", "SENDERS", "VOCABULARY", "Corpus", "Message"]

SENDERS = 2000
FREQUENT = 20
VOCABULARY = 30_000
LINES = 200_000
#: The end of the received-time range (fixed, so runs are comparable).
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
TWO_YEARS = 2 * 365 * 86400
_ONSETS = ("b", "br", "c", "ch", "d", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "pl")
_ONSETS += ("qu", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "", "", "", "n", "r", "s", "l", "m", "nd", "rt", "st", "x")
_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "corp.example")


@dataclass(frozen=True, slots=True)
class Message:
    """One generated message and how to append it."""

    raw: bytes
    sender: str  # the From address
    seen: bool
    received_at: float


class Corpus:
    """Draws messages, senders and needles from one seeded random generator."""

    def __init__(self, seed: int = 1) -> None:
        self._random = random.Random(seed)
        self.words = self._vocabulary()
        self._cumulative = _cumulative([1 / rank for rank in range(1, VOCABULARY + 1)])
        self._lines = self._line_pool()
        self.senders = [self._sender(i) for i in range(SENDERS)]
        share = [0.01] * FREQUENT + [(1 - 0.01 * FREQUENT) / (SENDERS - FREQUENT)] * (
            SENDERS - FREQUENT
        )
        self._sender_weights = _cumulative(share)
        self._recent: list[tuple[str, str]] = []  # (message-id, subject) to reply to
        self._count = 0

    def _vocabulary(self) -> list[str]:
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            syllables = self._random.choice((1, 1, 2, 2, 2, 3))
            word = "".join(
                self._random.choice(_ONSETS)
                + self._random.choice(_VOWELS)
                + self._random.choice(_CODAS)
                for _ in range(syllables)
            )
            if len(word) >= 3:
                words[word] = None
        return sorted(words, key=len)

    def _line_pool(self) -> list[str]:
        lines: list[str] = []
        line = ""
        while len(lines) < LINES:
            for word in self._text(100_000):
                line = f"{line} {word}" if line else word
                if len(line) >= 64:
                    lines.append(line)
                    line = ""
        return lines[:LINES]

    def _sender(self, i: int) -> tuple[str, str]:
        first, last = self._random.sample(self.words[200:5000], 2)
        domain = _DOMAINS[i % len(_DOMAINS)]
        return f"{first.title()} {last.title()}", f"{first}.{last}{i}@{domain}"

    def _text(self, count: int) -> list[str]:
        return self._random.choices(self.words, cum_weights=self._cumulative, k=count)

    def message(self, body_lines: int | None = None) -> Message:
        """The next message; its body has ``body_lines`` lines (default: 42-84, 3-6 KB)."""
        rnd = self._random
        self._count += 1
        name, address = self.senders[_pick(rnd, self._sender_weights)]
        received = NOW - rnd.random() * TWO_YEARS
        sent = received - rnd.uniform(5, 900)
        message_id = f"<{self._count}.{rnd.getrandbits(40):x}@{address.split('@')[1]}>"
        threading = ""
        if self._recent and rnd.random() < 0.25:
            parent, subject = rnd.choice(self._recent)
            subject = subject if subject.startswith("Re: ") else f"Re: {subject}"
            threading = f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n"
        else:
            subject = " ".join(self._text(rnd.randint(3, 8))).capitalize()
        self._recent.append((message_id, subject))
        if len(self._recent) > 1000:
            del self._recent[: len(self._recent) - 1000]
        # About 71 bytes a line with its CRLF: 3-6 KB of text.
        body = "\r\n".join(rnd.choices(self._lines, k=body_lines or rnd.randint(42, 84)))
        date = format_datetime(datetime.fromtimestamp(sent, UTC))
        raw = (
            f'From: "{name}" <{address}>\r\nTo: user@example.org\r\nSubject: {subject}\r\n'
            f"Date: {date}\r\nMessage-ID: {message_id}\r\n{threading}"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n"
        ).encode()
        return Message(raw, address, rnd.random() >= 0.3, received)

    def sender(self) -> str:
        """A sender address to search for: half frequent senders, half others."""
        if self._random.random() < 0.5:
            return self.senders[self._random.randrange(FREQUENT)][1]
        return self.senders[self._random.randrange(FREQUENT, SENDERS)][1]

    def body_word(self, common: bool) -> str:
        """A word to search bodies for: common (rank 50-2,000: in 3-70% of the
        messages) or rare (rank 2,000-30,000: 0.2-3%)."""
        if common:
            return self.words[self._random.randrange(50, 2000)]
        return self.words[self._random.randrange(2000, VOCABULARY)]

    def randint(self, low: int, high: int) -> int:
        return self._random.randint(low, high)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rnd: random.Random, cumulative: list[float]) -> int:
    return min(bisect_left(cumulative, rnd.random() * cumulative[-1]), len(cumulative) - 1)
