"""A fresh PostgreSQL database on the machine's server, for a target that needs one."""

import os
import uuid

# The machine's PostgreSQL (127.0.0.1:5432, trust auth) unless TEST_POSTGRES_URL names another.
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


class PostgresDatabase:
    """A fresh PostgreSQL database, dropped (even with connections open) on ``drop()``."""

    def __init__(self, postgres_url, prefix="amphibian_test"):
        import psycopg

        self.psycopg = psycopg
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.admin_url = postgres_url.rsplit("/", 1)[0] + "/postgres"
        self.url = postgres_url.rsplit("/", 1)[0] + f"/{self.name}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        with self.psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
