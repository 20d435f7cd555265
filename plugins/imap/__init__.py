"""The ``imap`` plugin: IMAP4rev2 and IMAP4rev1 (RFC 9051, RFC 3501) over the shared store."""
