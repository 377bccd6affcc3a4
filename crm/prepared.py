"""Statements PostgreSQL plans once per connection: prepared statements for the few queries
every request runs, always the same but for their parameters (the signed-in user, the
visibility rule's reach, the filter bar's lists). Planning was most of what they cost.

Django's cursors bind parameters on the client and never prepare; `prepared_cursor()` is a
cursor binding on the server that prepares what it runs, still wrapped by Django (logged,
counted, errors translated). Its SQL must be compiled once (functools.cache) and reused, or
every run would be a new statement. Behind a pooler in transaction mode the pooler must
support protocol-level prepared statements (see DB_PREPARE_THRESHOLD in settings).
"""

from __future__ import annotations

from django.db import connections
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format


class PreparingCursor(ServerBindingCursor):
    """A psycopg cursor binding on the server and preparing what it runs: the first run on a
    connection prepares the statement, the next ones execute it without parsing or planning."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor(alias: str = "default"):
    """A Django cursor wrapper over a PreparingCursor on `alias`'s connection (use it in a
    `with`)."""
    connection = connections[alias]
    # What Django's cursor() does first: a persistent connection that went bad is replaced.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = PreparingCursor(connection.connection)
        # As Django's own cursors: its time zone, when the connection's differs.
        loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, raw)
        # Through Django's wrapper, so the query is logged and wrapped like any other.
        return connection._prepare_cursor(raw)


# A value no row has (ids are positive): the stand-in a Compiled query is built around.
STAND_IN = -7_777_777_777_777


class Compiled:
    """A query every request runs with one value changing (a user's or a customer's id),
    compiled by the ORM once per process and run as a prepared statement.

    `build(value)` returns the queryset; it is called once, with STAND_IN, and the parameters
    equal to STAND_IN are the ones replaced at each run. The query should read plain columns
    (values(), aggregates): the rows come back as tuples or dicts, not model instances."""

    def __init__(self, build):
        self._build = build
        self._compiled = None

    def _compile(self) -> tuple[str, tuple, str]:
        if self._compiled is None:
            queryset = self._build(STAND_IN)
            sql, params = queryset.query.sql_with_params()
            self._compiled = (sql, tuple(params), queryset.db)
        return self._compiled

    def run(self, value) -> tuple[list[str], list[tuple]]:
        """(the column names, the rows) for `value`."""
        sql, params, alias = self._compile()
        with prepared_cursor(alias) as cursor:
            cursor.execute(sql, [value if p == STAND_IN else p for p in params])
            return [column.name for column in cursor.description], cursor.fetchall()

    def dicts(self, value) -> list[dict]:
        names, rows = self.run(value)
        return [dict(zip(names, row, strict=True)) for row in rows]
