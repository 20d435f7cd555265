"""directory: accounts, domains and aliases kept in the store; authentication; the first admin."""
