"""imap4flags (RFC 5232) and the deprecated imapflags draft."""

from __future__ import annotations

from sieve_support import names, run

from plugins.sieve import FileInto, Keep


def test_flag_commands_change_the_internal_variable() -> None:
    source = (
        'require ["imap4flags", "fileinto"];\n'
        'setflag "\\\\Seen B"; addflag ["c", "\\\\seen"]; removeflag "b";\n'
        'fileinto "A";'
    )
    assert run(source).actions == (FileInto("A", flags=("\\Seen", "c")),)


def test_explicit_flags_and_implicit_keep_flags() -> None:
    # RFC 5232 §5: :flags replaces the internal variable for that action only.
    source = (
        'require ["imap4flags", "fileinto"];\n'
        'setflag "$Work"; fileinto :copy :flags "\\\\Flagged" "A"; fileinto :copy "B";'
    )
    outcome = run('require "copy";' + source)
    assert outcome.actions == (
        FileInto("A", copy=True, flags=("\\Flagged",)),
        FileInto("B", copy=True, flags=("$Work",)),
        Keep(("$Work",), implicit=True),
    )


def test_last_flags_win_for_duplicate_stores() -> None:
    # RFC 5232 §5: "the last flag list value MUST win".
    source = 'require "imap4flags"; keep :flags "a"; keep :flags "b";'
    assert run(source).actions == (Keep(("b",)),)


def test_hasflag_with_variables_and_split_keys() -> None:
    source = (
        'require ["imap4flags", "variables", "relational", "comparator-i;ascii-numeric"];\n'
        'set "mine" "A B A";\n'
        'if allof (hasflag "mine" "b a",\n'
        '          hasflag :count "eq" :comparator "i;ascii-numeric" "mine" "2",\n'
        '          not hasflag "x") { discard; }'
    )
    assert names(run(source)) == ["discard"]


def test_named_variable_flags() -> None:
    source = (
        'require ["imap4flags", "variables", "fileinto"];\n'
        'addflag "v" "one"; addflag "v" "two"; removeflag "v" "one";\n'
        'fileinto "${v}";'
    )
    action = run(source).actions[0]
    assert isinstance(action, FileInto) and action.mailbox == "two"


def test_deprecated_imapflags_mark_and_unmark() -> None:
    source = 'require ["imapflags", "fileinto"]; mark; fileinto "A"; unmark; keep;'
    assert run(source).actions == (FileInto("A", flags=("\\Flagged",)), Keep(()))
