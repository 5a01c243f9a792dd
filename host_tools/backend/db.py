"""One small database interface over SQLite and PostgreSQL, so the store's SQL is written once.

Statements use `?` placeholders (translated to psycopg's `%s`), plain column types and
`INSERT ... ON CONFLICT DO NOTHING`, which both engines run unchanged.
"""
import sqlite3
import threading
from contextlib import contextmanager


def is_postgres(url):
    return str(url).startswith(("postgresql://", "postgres://"))


def connect(url):
    """A Db for a SQLite path (or ":memory:") or a postgresql:// URL."""
    return PostgresDb(url) if is_postgres(url) else SqliteDb(url)


class SqliteDb:
    kind = "sqlite"

    def __init__(self, path):
        # Autocommit mode and explicit BEGIN IMMEDIATE: several workers on one file then wait
        # for the write lock (busy timeout) instead of failing on a lock upgrade.
        self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        if str(path) != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def transaction(self):
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def execute(self, sql, args=()):
        """Run one statement; returns the number of rows it changed."""
        with self.lock:
            return self.conn.execute(sql, args).rowcount

    def query(self, sql, args=()):
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, args).fetchall()]

    def close(self):
        with self.lock:
            self.conn.close()


class PostgresDb:
    kind = "postgresql"

    def __init__(self, url):
        import psycopg
        from psycopg.rows import dict_row

        self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        self.lock = threading.RLock()

    @staticmethod
    def _sql(sql):
        return sql.replace("?", "%s")

    @contextmanager
    def transaction(self):
        with self.lock, self.conn.transaction():
            yield self

    def execute(self, sql, args=()):
        with self.lock:
            return self.conn.execute(self._sql(sql), args).rowcount

    def query(self, sql, args=()):
        with self.lock:
            return list(self.conn.execute(self._sql(sql), args).fetchall())

    def close(self):
        with self.lock:
            self.conn.close()
