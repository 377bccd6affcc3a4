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
