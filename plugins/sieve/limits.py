"""Safety limits of the Sieve compiler and interpreter (constructor options).

Every limit turns a hostile or broken script into an error result, never a hang or a
crash: compile errors for size and nesting, :class:`~plugins.sieve.errors.SieveLimitExceeded`
at run time for the rest. The defaults follow Pigeonhole's where it has one
(``sieve_max_actions`` 32, ``sieve_max_redirects`` 4, include depth 10 and 255 scripts,
variable size 4 KiB); RFC 5229 §6 asks that at least 4000 octets fit in a variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["Limits"]


@final
@dataclass(frozen=True, slots=True)
class Limits:
    """The safety limits.

    Attributes:
        max_script_size: largest script accepted, in bytes.
        max_nesting: deepest nesting of blocks and tests.
        max_actions: most actions one run may add to its result.
        max_redirects: most redirect actions one run may add.
        max_include_depth: deepest chain of ``include``.
        max_includes: most scripts one run may include.
        max_steps: most commands and tests one run may evaluate (the run-time budget);
            string matching is charged in proportion to its work.
        max_run_seconds: wall-clock budget of one run (checked between steps).
        regex_timeout: seconds one regular-expression match may take.
        max_variable_size: longest variable value in bytes; longer values are truncated.
        max_variables: most variables a script may define.
        max_match_values: most match variables (``${0}`` .. ``${n}``) kept.
        max_header_size: longest header field ``addheader`` may add, in bytes.
        max_string_size: longest string built at run time (variable expansion).
    """

    max_script_size: int = 1024 * 1024
    max_nesting: int = 32
    max_actions: int = 32
    max_redirects: int = 4
    max_include_depth: int = 10
    max_includes: int = 255
    max_steps: int = 1_000_000
    max_run_seconds: float = 10.0
    regex_timeout: float = 1.0
    max_variable_size: int = 4096
    max_variables: int = 255
    max_match_values: int = 32
    max_header_size: int = 2048
    max_string_size: int = 1024 * 1024
