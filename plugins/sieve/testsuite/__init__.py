"""Test-only: Pigeonhole's ``vnd.dovecot.testsuite`` extension and a runner for its files.

Never part of the default registry: :func:`run_file` adds :data:`TESTSUITE` to the
registry it compiles ``.svtest`` files with (see ``tests/fixtures/sieve-tests/README.md``
and ``docs/sieve.md``).
"""

from plugins.sieve.testsuite.commands import TESTSUITE, BlockOutcome
from plugins.sieve.testsuite.runner import FileReport, list_blocks, run_file

__all__ = ["TESTSUITE", "BlockOutcome", "FileReport", "list_blocks", "run_file"]
