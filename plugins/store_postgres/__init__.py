"""store_postgres: the store on PostgreSQL, for clusters of servers sharing one database."""
