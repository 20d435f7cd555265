"""editheader (RFC 5293): addheader, deleteheader, protections, encoding."""

from __future__ import annotations

from sieve_support import compile_error, names, run

from plugins.sieve import Settings


def edited(source: str, message: bytes | None = None, **kwargs: object) -> bytes:
    args = (message,) if message is not None else ()
    outcome = run('require ["editheader", "variables"];\n' + source, *args, **kwargs)  # type: ignore[arg-type]
    assert outcome.ok, outcome.error
    assert outcome.message is not None
    return outcome.message


def test_addheader_first_and_last() -> None:
    data = edited('addheader "X-Top" "1"; addheader :last "X-Bottom" "2";')
    header = data.split(b"\r\n\r\n")[0]
    assert header.startswith(b"X-Top: 1\r\n") and header.endswith(b"X-Bottom: 2")


def test_addheader_is_seen_by_later_tests() -> None:
    # RFC 5293 §7: tests examine the header as modified so far.
    source = 'addheader "X-Hello" "World"; if header :is "x-hello" "World" { discard; }'
    assert names(run('require "editheader";' + source)) == ["discard"]


def test_addheader_encodes_non_ascii_and_folds_long_values() -> None:
    data = edited('addheader "X-Greeting" "Grüße"; addheader "X-Long" "' + "word " * 30 + '";')
    assert b"X-Greeting: =?UTF-8?B?R3LDvMOfZQ==?=" in data
    long_field = data.split(b"X-Long:")[1].split(b"\r\n\r\n")[0]
    assert b"\r\n " in long_field
    check = 'addheader "X-G" "Grüße"; if header :is "x-g" "Grüße" { discard; }'
    assert names(run('require "editheader";' + check)) == ["discard"]


def test_deleteheader_index_and_patterns() -> None:
    message = b"X-A: one\r\nX-A: two\r\nX-A: three\r\nSubject: s\r\n\r\nbody\r\n"
    data = edited('deleteheader :index 1 :last "x-a";', message)
    assert b"three" not in data and b"one" in data
    data = edited('deleteheader :contains "X-A" ["tw", "thr"];', message)
    assert b"X-A: one" in data and b"two" not in data and b"three" not in data
    # RFC 5293 §7: deleting the first and then the second deletes the first and third.
    data = edited('deleteheader :index 1 "x-a"; deleteheader :index 2 "x-a";', message)
    assert b"X-A: two" in data and b"one" not in data and b"three" not in data


def test_protected_fields_are_silently_kept() -> None:
    # RFC 5293 §6: Received and Auto-Submitted are never deleted; Subject always may be.
    message = b"Received: by x\r\nAuto-Submitted: yes\r\nSubject: s\r\nX-Frop: 1\r\n\r\nb\r\n"
    settings = Settings(editheader_protected=frozenset({"x-frop", "subject"}))
    source = (
        'deleteheader "received"; deleteheader "auto-submitted"; deleteheader "subject";'
        'deleteheader "x-frop"; addheader "x-frop" "2";'
    )
    outcome = run('require "editheader";' + source, message, settings=settings)
    assert outcome.message is not None
    assert b"Received" in outcome.message and b"Auto-Submitted" in outcome.message
    assert b"Subject" not in outcome.message
    assert outcome.message.count(b"X-Frop") == 1


def test_editheader_validation() -> None:
    assert "invalid header field name" in str(
        compile_error('require "editheader"; addheader "X:y" "v";')
    )
    error = compile_error(
        'require ["editheader", "encoded-character"]; addheader "X" "a${hex:00}";'
    )
    assert "NUL" in str(error)
    assert "longer than" in str(
        compile_error('require "editheader"; addheader "X" "' + "a" * 3000 + '";')
    )
    outcome = run('require ["editheader", "variables"]; set "n" "Bad:Name"; addheader "${n}" "v";')
    assert not outcome.ok and "invalid header field name" in str(outcome.error)
