"""The per-customer purchase figures (CustomerPurchaseStats): recomputed with ONE set-based
statement for a set of customers, in the transaction that places, cancels or deletes their
orders, and for everyone by the nightly job (or after an import).

The statement aggregates the placed orders (Order.PLACED, not deleted) of the customers named,
which the order_customer index (customer, -ordered_at, -id) serves, and upserts one row per
customer; customers left with no placed order lose their row (no row reads as "never ordered":
0 orders, nothing spent)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from sales.models import CustomerPurchaseStats, Order

_STATS = CustomerPurchaseStats._meta.db_table
_ORDERS = Order._meta.db_table

_UPSERT = f"""
INSERT INTO {_STATS} (customer_id, first_order_at, last_order_at, order_count, total_spent,
                      average_order_value, updated_at)
SELECT o.customer_id, MIN(o.ordered_at), MAX(o.ordered_at), COUNT(*), SUM(o.total),
       ROUND(AVG(o.total), 2), now()
  FROM {_ORDERS} o
 WHERE o.status = ANY(%(placed)s) AND o.deleted_at IS NULL {{where}}
 GROUP BY o.customer_id
ON CONFLICT (customer_id) DO UPDATE SET
       first_order_at = EXCLUDED.first_order_at,
       last_order_at = EXCLUDED.last_order_at,
       order_count = EXCLUDED.order_count,
       total_spent = EXCLUDED.total_spent,
       average_order_value = EXCLUDED.average_order_value,
       updated_at = EXCLUDED.updated_at
"""  # noqa: S608 (table names from the models; values are parameters)

_PRUNE = f"""
DELETE FROM {_STATS} s
 WHERE {{where}} NOT EXISTS (
       SELECT 1 FROM {_ORDERS} o
        WHERE o.customer_id = s.customer_id AND o.status = ANY(%(placed)s)
          AND o.deleted_at IS NULL)
"""  # noqa: S608


def _placed() -> list[str]:
    return [str(s) for s in Order.PLACED]


@transaction.atomic
def refresh_purchase_stats(customer_ids: Iterable[int]) -> None:
    """Recompute the figures of these customers (two statements, whatever their number)."""
    ids = sorted({int(pk) for pk in customer_ids if pk is not None})
    if not ids:
        return
    params = {"placed": _placed(), "ids": ids}
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(where="AND o.customer_id = ANY(%(ids)s)"), params)
        cursor.execute(_PRUNE.format(where="s.customer_id = ANY(%(ids)s) AND"), params)


@transaction.atomic
def rebuild_all_purchase_stats() -> None:
    """Recompute every customer's figures from the orders (the nightly job, after imports)."""
    params = {"placed": _placed()}
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(where=""), params)
        cursor.execute(_PRUNE.format(where=""), params)
