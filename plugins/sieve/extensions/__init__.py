"""The built-in Sieve extensions, one module per RFC family.

:func:`builtin_extensions` lists them for :func:`plugins.sieve.registry.default_registry`;
capabilities that only enable tags or syntax (relational, subaddress, regex, copy,
encoded-character, comparators) are plain :class:`~plugins.sieve.spec.Extension` records.
"""

from __future__ import annotations

from plugins.sieve.spec import Extension

__all__ = ["builtin_extensions"]


def builtin_extensions() -> tuple[Extension, ...]:
    """Every extension this package implements, the base language first."""
    from plugins.sieve.extensions import (
        base,
        body,
        date,
        delivery,
        editheader,
        environment,
        fcc,
        flags,
        include,
        metadata,
        mime,
        notify,
        spamtest,
        vacation,
        variables,
    )

    return (
        *base.EXTENSIONS,
        *delivery.EXTENSIONS,
        *flags.EXTENSIONS,
        *variables.EXTENSIONS,
        *body.EXTENSIONS,
        *date.EXTENSIONS,
        *editheader.EXTENSIONS,
        *environment.EXTENSIONS,
        *include.EXTENSIONS,
        *metadata.EXTENSIONS,
        *mime.EXTENSIONS,
        *notify.EXTENSIONS,
        *fcc.EXTENSIONS,
        *spamtest.EXTENSIONS,
        *vacation.EXTENSIONS,
        # RFC 5231 relational, RFC 5233 subaddress, draft-ietf-sieve-regex-01 regex,
        # RFC 5228 §2.4.2.4 encoded-character, RFC 4790 §9.1 i;ascii-numeric.
        Extension(name="relational", capabilities=("relational",)),
        Extension(name="subaddress", capabilities=("subaddress",)),
        Extension(name="regex", capabilities=("regex",)),
        Extension(name="encoded-character", capabilities=("encoded-character",)),
        Extension(name="i;ascii-numeric", capabilities=("comparator-i;ascii-numeric",)),
    )
