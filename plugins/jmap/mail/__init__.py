"""RFC 8621 mail methods: one module per data type (Mailbox, Thread, Email, SearchSnippet...)."""
