"""Filters and sorts (:mod:`kernel.store.filters`) compiled to SQL, once for every SQL backend.

The compiler writes standard SQL over the tables every SQL backend has
(``emails e``, ``memberships``, ``keywords``, ``email_text``) with ``?``
placeholders; what differs between dialects (substring tests, id lists, a
full-text candidate filter, header matching) comes from a :class:`Dialect`
the backend supplies. A backend with ``%s`` placeholders replaces them after
compiling (the compiler never writes a literal ``?`` or ``%``).

A query is scoped either to an account (JMAP: ``emails e`` of the account) or
to one mailbox (IMAP: ``memberships m`` of the mailbox joined to ``emails e``,
so that UIDs and per-mailbox MODSEQs are at hand).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from kernel.store.filters import (
    All,
    AnyOf,
    Comparator,
    Contains,
    EmailIds,
    Filter,
    HasAttachment,
    HasKeyword,
    HeaderContains,
    InMailbox,
    InMailboxOtherThan,
    ModseqAtLeast,
    Not,
    ReceivedBefore,
    ReceivedSince,
    SentBefore,
    SentSince,
    SizeAtLeast,
    SizeBelow,
    ThreadIds,
    ThreadKeyword,
    Uids,
    normalise_text,
)
from kernel.store.mail_records import EmailRow, MailboxCounts, Membership
from kernel.store.rows import EMAIL_COLUMNS

__all__ = [
    "COUNTER_COLUMNS",
    "FIELD_COLUMNS",
    "CompiledQuery",
    "Dialect",
    "SqlMailReads",
    "assemble_counts",
    "compile_changed_members",
    "compile_count",
    "compile_counts",
    "compile_query",
    "compile_thread_surplus",
]

#: The ``email_text`` columns each :class:`Contains` field searches.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "from": ("from_text",),
    "to": ("to_text",),
    "cc": ("cc_text",),
    "bcc": ("bcc_text",),
    "subject": ("subject_text",),
    "body": ("body",),
    "text": ("from_text", "to_text", "cc_text", "bcc_text", "subject_text", "body"),
    "message": ("headers", "body"),
}
# Ranges up to this size are listed UID by UID; longer ones become BETWEEN.
_EXPAND_RANGE = 64


class Dialect(Protocol):
    """What a SQL backend says in its own dialect."""

    def contains(self, column: str) -> tuple[str, Any]:
        """SQL true when ``column`` contains the needle given as one ``?`` parameter,
        and a function turning the (case-folded) needle into that parameter."""
        ...

    def header_contains(self, column: str, name: str, needle: str) -> tuple[str, list[Any]]:
        """SQL true when the ``headers`` text in ``column`` has a field ``name``
        whose value contains ``needle`` (both case-folded), with its parameters."""
        ...

    def in_list(self, expression: str, values: Sequence[int]) -> tuple[str, list[Any]]:
        """SQL true when ``expression`` is one of ``values``, with its parameters."""
        ...

    def text_candidates(
        self, email: str, columns: tuple[str, ...], needle: str
    ) -> tuple[str, list[Any]] | None:
        """Optionally, SQL true for emails (whose id is the expression ``email``)
        whose texts may contain ``needle``: an index lookup narrowing the exact test."""
        ...

    def sort_text(self, expression: str) -> str:
        """``expression`` ordered bytewise (as SQLite's BINARY collation does)."""
        ...


@dataclass
class _Builder:
    dialect: Dialect
    scoped: bool  # memberships m of one mailbox are joined
    params: list[Any] = field(default_factory=list)
    # A full-text candidate list narrows the rows (set while compiling a filter).
    narrowed: bool = False

    def add(self, sql: str, *params: Any) -> str:
        self.params.extend(params)
        return sql

    def compile(self, node: Filter) -> str:
        match node:
            case All(children):
                return "(" + " AND ".join(map(self.compile, children)) + ")" if children else "1=1"
            case AnyOf(children):
                return "(" + " OR ".join(map(self.compile, children)) + ")" if children else "1=0"
            case Not(child):
                return f"NOT {self.compile(child)}"
            case InMailbox(mailbox):
                return self.add(
                    "EXISTS (SELECT 1 FROM memberships x WHERE x.email = e.id AND x.mailbox = ?)",
                    mailbox,
                )
            case InMailboxOtherThan(mailboxes):
                listed, params = self.dialect.in_list("x.mailbox", sorted(mailboxes))
                self.params.extend(params)
                return f"EXISTS (SELECT 1 FROM memberships x WHERE x.email = e.id AND NOT {listed})"
            case Uids(mailbox, ranges):
                test = self._uid_ranges("x.uid", ranges)
                return self.add(
                    "EXISTS (SELECT 1 FROM memberships x WHERE x.email = e.id "
                    f"AND x.mailbox = ? AND {test[0]})",
                    mailbox,
                    *test[1],
                )
            case EmailIds(ids):
                return self._listed("e.id", ids)
            case ThreadIds(ids):
                return self._listed("e.thread", ids)
            case HasKeyword(keyword):
                return self.add(
                    "EXISTS (SELECT 1 FROM keywords k WHERE k.email = e.id AND k.keyword = ?)",
                    keyword,
                )
            case ThreadKeyword(keyword, mode):
                return self._thread_keyword(keyword, mode)
            case ReceivedBefore(when):
                return self.add("e.received_at < ?", when)
            case ReceivedSince(when):
                return self.add("e.received_at >= ?", when)
            case SentBefore(when):
                return self.add("coalesce(e.sent_at, e.received_at) < ?", when)
            case SentSince(when):
                return self.add("coalesce(e.sent_at, e.received_at) >= ?", when)
            case SizeAtLeast(size):
                return self.add("e.size >= ?", size)
            case SizeBelow(size):
                return self.add("e.size < ?", size)
            case ModseqAtLeast(modseq):
                if self.scoped:
                    return self.add("m.modseq >= ?", modseq)
                return self.add(
                    "(e.modseq >= ? OR EXISTS (SELECT 1 FROM memberships x "
                    "WHERE x.email = e.id AND x.modseq >= ?))",
                    modseq,
                    modseq,
                )
            case HasAttachment(value):
                return self.add("e.has_attachment = ?", value)
            case Contains(name, needle):
                return self._contains(FIELD_COLUMNS[name], normalise_text(needle))
            case HeaderContains(name, needle):
                sql, params = self.dialect.header_contains(
                    "t2.headers", name.lower(), normalise_text(needle)
                )
                self.params.extend(params)
                return f"EXISTS (SELECT 1 FROM email_text t2 WHERE t2.email = e.id AND {sql})"
        raise TypeError(f"not a filter: {node!r}")

    def _listed(self, expression: str, ids: frozenset[int]) -> str:
        sql, params = self.dialect.in_list(expression, sorted(ids))
        self.params.extend(params)
        return sql

    def _uid_ranges(
        self, column: str, ranges: tuple[tuple[int, int], ...]
    ) -> tuple[str, list[Any]]:
        listed: list[int] = []
        terms: list[str] = []
        params: list[Any] = []
        for low, high in ranges:
            if high < low:
                continue
            if high - low < _EXPAND_RANGE:
                listed.extend(range(low, high + 1))
            else:
                terms.append(f"{column} BETWEEN ? AND ?")
                params.extend((low, high))
        if listed:
            sql, list_params = self.dialect.in_list(column, sorted(set(listed)))
            terms.append(sql)
            params.extend(list_params)
        return ("(" + " OR ".join(terms) + ")" if terms else "1=0"), params

    def _thread_keyword(self, keyword: str, mode: str) -> str:
        if mode == "all":
            return self.add(
                "NOT EXISTS (SELECT 1 FROM emails te WHERE te.account = e.account "
                "AND te.thread = e.thread AND NOT EXISTS (SELECT 1 FROM keywords k "
                "WHERE k.email = te.id AND k.keyword = ?))",
                keyword,
            )
        some = self.add(
            "EXISTS (SELECT 1 FROM emails te JOIN keywords k ON k.email = te.id "
            "WHERE te.account = e.account AND te.thread = e.thread AND k.keyword = ?)",
            keyword,
        )
        return some if mode == "some" else f"NOT {some}"

    def _contains(self, columns: tuple[str, ...], needle: str) -> str:
        # The candidate test goes first so that an index narrows the rows the exact
        # test reads.
        candidates = self.dialect.text_candidates(
            "m.email" if self.scoped else "e.id", columns, needle
        )
        prefix = ""
        if candidates is not None:
            self.narrowed = True
            prefix = self.add(candidates[0] + " AND ", *candidates[1])
        tests = []
        for column in columns:
            sql, convert = self.dialect.contains(f"t2.{column}")
            tests.append(self.add(sql, convert(needle)))
        return (
            f"({prefix}EXISTS (SELECT 1 FROM email_text t2 WHERE t2.email = e.id "
            f"AND ({' OR '.join(tests)})))"
        )


def _sort_expression(builder: _Builder, comparator: Comparator) -> str:
    text = builder.dialect.sort_text
    match comparator.key:
        case "received":
            return "e.received_at"
        case "sent":
            return "coalesce(e.sent_at, e.received_at)"
        case "size":
            return "e.size"
        case "from" | "to" | "cc" | "display_from" | "display_to":
            column = {"from": "sort_from", "to": "sort_to", "cc": "sort_cc"}.get(
                comparator.key, comparator.key
            )
            return text(f"coalesce(t.{column}, '')")
        case "subject":
            return text("e.base_subject")
        case "keyword":
            return "(" + builder.compile(HasKeyword(_keyword(comparator))) + ")"
        case "thread_some_keyword":
            return "(" + builder.compile(ThreadKeyword(_keyword(comparator), "some")) + ")"
        case "thread_all_keyword":
            return "(" + builder.compile(ThreadKeyword(_keyword(comparator), "all")) + ")"
        case "uid":
            if not builder.scoped:
                raise ValueError("sorting by UID needs a mailbox")
            # With a full-text candidate list, "+" keeps the (mailbox, uid) index from
            # driving the scan, so the (mailbox, email) index looks the few candidates
            # up and they are sorted after (SQLite otherwise walks every membership).
            return "+m.uid" if builder.narrowed else "m.uid"
        case "id":
            return "e.id"
    raise ValueError(f"cannot sort by {comparator.key!r}")


def _keyword(comparator: Comparator) -> str:
    if not comparator.keyword:
        raise ValueError(f"sorting by {comparator.key} needs a keyword")
    return comparator.keyword.lower()


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """SQL selecting ``(email id, thread id, uid)`` rows, and its parameters."""

    sql: str
    params: list[Any]


def _from_clause(account: int, mailbox: int | None, builder: _Builder, join_text: bool) -> str:
    text_join = " LEFT JOIN email_text t ON t.email = e.id" if join_text else ""
    if mailbox is not None:
        builder.params.append(mailbox)
        return f"FROM memberships m JOIN emails e ON e.id = m.email{text_join} WHERE m.mailbox = ?"
    builder.params.append(account)
    return f"FROM emails e{text_join} WHERE e.account = ?"


def compile_query(
    dialect: Dialect,
    account: int,
    node: Filter,
    sort: Sequence[Comparator],
    *,
    mailbox: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> CompiledQuery:
    """SQL for the emails of ``account`` (or of ``mailbox``) matching ``node``, sorted.

    The rows are ``(email, thread, uid)``; ``uid`` is 0 without a mailbox scope.
    Ties are ordered by email id, descending when the last key is (an empty
    ``sort``: ascending).
    """
    join_text = any(c.key in ("from", "to", "cc", "display_from", "display_to") for c in sort)
    builder = _Builder(dialect, scoped=mailbox is not None)
    source = _from_clause(account, mailbox, builder, join_text)
    where = builder.compile(node)
    order_builder = _Builder(dialect, scoped=mailbox is not None, narrowed=builder.narrowed)
    order = [
        f"{_sort_expression(order_builder, c)} {'ASC' if c.ascending else 'DESC'}" for c in sort
    ]
    # Ties go by id, in the direction of the last key (so an index on (key, id)
    # serves both).
    order.append(f"e.id {'DESC' if sort and not sort[-1].ascending else 'ASC'}")
    uid = "m.uid" if mailbox is not None else "0"
    sql = f"SELECT e.id, e.thread, {uid} {source} AND {where} ORDER BY {', '.join(order)}"
    params = builder.params + order_builder.params
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    elif offset:
        raise ValueError("an offset needs a limit")
    return CompiledQuery(sql, params)


def compile_count(
    dialect: Dialect,
    account: int,
    node: Filter,
    *,
    mailbox: int | None = None,
    threads: bool = False,
) -> CompiledQuery:
    """SQL counting what :func:`compile_query` would select (with ``threads``, the
    distinct threads among it: the length of a collapsed result)."""
    if mailbox is None and not threads:
        # "In mailbox M and ..." counts fastest from M's memberships.
        mailbox, node = _mailbox_scope(node)
    if mailbox is not None and node == All() and not threads:
        return CompiledQuery("SELECT count(*) FROM memberships WHERE mailbox = ?", [mailbox])
    builder = _Builder(dialect, scoped=mailbox is not None)
    source = _from_clause(account, mailbox, builder, join_text=False)
    where = builder.compile(node)
    counted = "count(DISTINCT e.thread)" if threads else "count(*)"
    return CompiledQuery(f"SELECT {counted} {source} AND {where}", builder.params)


def compile_thread_surplus(dialect: Dialect, account: int, node: Filter) -> CompiledQuery:
    """SQL for how many more emails than threads :func:`compile_query` selects (of
    ``account``, no mailbox scope): the count minus this is the number of threads.

    Only a thread of several emails adds to it, and such a thread has an email that
    is not its first (``thread <> id``, as a thread's id is its first email's), so
    the threads counted are found from those emails and no others; the matches are
    not read one by one as ``count(DISTINCT thread)`` would.
    """
    builder = _Builder(dialect, scoped=False)
    builder.params += [account, account]
    where = builder.compile(node)
    return CompiledQuery(
        "SELECT coalesce(sum(d.n - 1), 0) FROM (SELECT count(*) AS n FROM emails e "
        "WHERE e.account = ? AND e.thread IN (SELECT r.thread FROM emails r "
        f"WHERE r.account = ? AND r.thread <> r.id) AND {where} GROUP BY e.thread) d "
        "WHERE d.n > 1",
        builder.params,
    )


_SEEN_OR_DRAFT = "k.keyword IN ('$seen', '$draft')"


#: The counters every mailbox row keeps, in the order of
#: ``WriteOps.adjust_mailbox_counts``'s deltas.
COUNTER_COLUMNS = "count_messages, count_bytes, count_seen, count_seen_or_draft, count_deleted"


def compile_counts(mailbox: int, trash: int | None, threads: bool) -> list[CompiledQuery]:
    """Queries for :class:`~kernel.store.mail_records.MailboxCounts`: the counters
    and, with ``threads``, ``(threads, unread threads)`` (see :func:`assemble_counts`)."""
    queries = [CompiledQuery(f"SELECT {COUNTER_COLUMNS} FROM mailboxes WHERE id = ?", [mailbox])]
    if not threads:
        return queries
    # RFC 8621 §2 unreadThreads: threads with an email here and an unread email
    # anywhere, the trash counted as a separate world.
    params: list[Any] = [mailbox, mailbox]
    trash_rule = ""
    if trash is not None:
        operator = "=" if trash == mailbox else "<>"
        trash_rule = (
            f" AND EXISTS (SELECT 1 FROM memberships t WHERE t.email = u.id "
            f"AND t.mailbox {operator} ?)"
        )
        params.append(trash)
    queries.append(
        CompiledQuery(
            "SELECT (SELECT count(DISTINCT e.thread) FROM memberships m "
            "JOIN emails e ON e.id = m.email WHERE m.mailbox = ?), "
            "(SELECT count(DISTINCT e.thread) FROM memberships m JOIN emails e "
            "ON e.id = m.email WHERE m.mailbox = ? AND EXISTS (SELECT 1 FROM emails u "
            "WHERE u.account = e.account AND u.thread = e.thread "
            f"AND NOT EXISTS (SELECT 1 FROM keywords k WHERE k.email = u.id AND {_SEEN_OR_DRAFT})"
            f"{trash_rule}))",
            params,
        )
    )
    return queries


def assemble_counts(rows: list[tuple[Any, ...]]) -> MailboxCounts:
    """:class:`MailboxCounts` from the first row of each :func:`compile_counts` query."""
    (total, size, seen, seen_or_draft, deleted), *rest = rows
    return MailboxCounts(
        total=int(total),
        unseen=int(total) - int(seen),
        unread=int(total) - int(seen_or_draft),
        deleted=int(deleted),
        size=int(size),
        threads=int(rest[0][0]) if rest else None,
        unread_threads=int(rest[0][1]) if rest else None,
    )


def compile_changed_members(mailbox: int, since: int) -> CompiledQuery:
    """``(mailbox, uid, email, modseq)`` of memberships changed after ``since``, by UID."""
    return CompiledQuery(
        "SELECT m.mailbox, m.uid, m.email, m.modseq FROM memberships m "
        "WHERE m.mailbox = ? AND m.modseq > ? ORDER BY m.uid",
        [mailbox, since],
    )


def _mailbox_scope(node: Filter) -> tuple[int | None, Filter]:
    """``(M, rest)`` when ``node`` is ``InMailbox(M)`` or an ``All`` with one, else
    ``(None, node)``. Not when MODSEQ is tested: its meaning depends on the scope."""
    if _tests_modseq(node):
        return None, node
    if isinstance(node, InMailbox):
        return node.mailbox, All()
    if isinstance(node, All):
        inside = [c for c in node.children if isinstance(c, InMailbox)]
        if len(inside) == 1:
            return inside[0].mailbox, All(tuple(c for c in node.children if c is not inside[0]))
    return None, node


def _tests_modseq(node: Filter) -> bool:
    if isinstance(node, ModseqAtLeast):
        return True
    if isinstance(node, (All, AnyOf)):
        return any(_tests_modseq(c) for c in node.children)
    if isinstance(node, Not):
        return _tests_modseq(node.child)
    return False


class SqlMailReads(ABC):
    """The query reads of :class:`~kernel.store.interfaces.ReadOps`, written once over
    :meth:`_rows` (run a compiled query in the backend's own placeholder style) and
    :attr:`dialect`; SQL backends' read operations inherit them."""

    dialect: Dialect

    @abstractmethod
    def _rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        """The rows of ``query``, run the backend's way."""

    def query_emails(
        self,
        account: int,
        where: Filter,
        sort: Sequence[Comparator],
        *,
        mailbox: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[tuple[int, int, int]]:
        query = compile_query(
            self.dialect, account, where, sort, mailbox=mailbox, limit=limit, offset=offset
        )
        return [(e, t, u) for e, t, u in self._rows(query)]

    def count_emails(self, account: int, where: Filter, *, mailbox: int | None = None) -> int:
        return int(self._rows(compile_count(self.dialect, account, where, mailbox=mailbox))[0][0])

    #: Count a collapsed total as the matches minus the threads' surplus
    #: (:func:`compile_thread_surplus`) rather than with ``count(DISTINCT thread)``:
    #: faster where the latter looks each match up in turn (SQLite), slower where a
    #: hash aggregate counts the matches in one pass (PostgreSQL).
    count_threads_by_surplus: ClassVar[bool] = False

    def count_threads(self, account: int, where: Filter) -> int:
        if not self.count_threads_by_surplus:
            query = compile_count(self.dialect, account, where, threads=True)
            return int(self._rows(query)[0][0])
        surplus = self._rows(compile_thread_surplus(self.dialect, account, where))[0][0]
        return self.count_emails(account, where) - int(surplus)

    def memberships_of(self, emails: Sequence[int]) -> dict[int, list[Membership]]:
        if not emails:
            return {}
        test, params = self.dialect.in_list("email", emails)
        query = CompiledQuery(
            f"SELECT mailbox, uid, email, modseq FROM memberships WHERE {test} "
            "ORDER BY email, mailbox",
            params,
        )
        out: dict[int, list[Membership]] = {}
        for row in self._rows(query):
            out.setdefault(int(row[2]), []).append(Membership(*row))
        return out

    def mailbox_counts(self, mailbox: int, trash: int | None, threads: bool) -> MailboxCounts:
        queries = compile_counts(mailbox, trash, threads)
        return assemble_counts([self._rows(q)[0] for q in queries])

    def members_changed_since(self, mailbox: int, since: int) -> list[Membership]:
        return [Membership(*row) for row in self._rows(compile_changed_members(mailbox, since))]

    def mailbox_keywords(self, mailbox: int) -> dict[int, frozenset[str]]:
        query = CompiledQuery(
            "SELECT k.email, k.keyword FROM memberships m JOIN keywords k ON k.email = m.email "
            "WHERE m.mailbox = ?",
            [mailbox],
        )
        return _group_keywords(self._rows(query))

    def keywords_of(self, emails: Sequence[int]) -> dict[int, frozenset[str]]:
        if not emails:
            return {}
        test, params = self.dialect.in_list("email", emails)
        query = CompiledQuery(f"SELECT email, keyword FROM keywords WHERE {test}", params)
        return _group_keywords(self._rows(query))

    def email_rows(self, emails: Sequence[int]) -> dict[int, EmailRow]:
        if not emails:
            return {}
        test, params = self.dialect.in_list("id", emails)
        query = CompiledQuery(f"SELECT id, {EMAIL_COLUMNS} FROM emails WHERE {test}", params)
        out = {}
        for row in self._rows(query):
            fields = list(row[1:])
            fields[_HAS_ATTACHMENT] = bool(fields[_HAS_ATTACHMENT])  # SQLite keeps 0/1
            out[int(row[0])] = EmailRow(*fields)
        return out

    def email_contents(self, emails: Sequence[int]) -> dict[int, tuple[int, str, bytes | None]]:
        if not emails:
            return {}
        test, params = self.dialect.in_list("e.id", emails)
        query = CompiledQuery(
            "SELECT e.id, e.account, e.blob, CASE WHEN b.external THEN NULL ELSE b.data END "
            f"FROM emails e JOIN blobs b ON b.id = e.blob WHERE {test}",
            params,
        )
        return {
            int(email): (int(account), blob, None if data is None else bytes(data))
            for email, account, blob, data in self._rows(query)
        }


_HAS_ATTACHMENT = EMAIL_COLUMNS.split(", ").index("has_attachment")


def _group_keywords(rows: Sequence[tuple[Any, ...]]) -> dict[int, frozenset[str]]:
    grouped: dict[int, set[str]] = {}
    for email, keyword in rows:
        grouped.setdefault(int(email), set()).add(keyword)
    return {email: frozenset(words) for email, words in grouped.items()}
