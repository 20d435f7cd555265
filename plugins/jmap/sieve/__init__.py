"""JMAP for Sieve (RFC 9661): SieveScript methods over the store's Sieve scripts."""
