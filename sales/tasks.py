"""Celery tasks of sales: thin interfaces that call the services."""

from celery import shared_task


# Nightly (see the beat entry "rebuild-purchase-stats"), and after bulk imports of orders: the
# order services keep the figures current; this repairs any drift in one set-based statement.
@shared_task(name="sales.rebuild_purchase_stats", soft_time_limit=1500, time_limit=1800)
def rebuild_purchase_stats_task() -> None:
    from sales.purchase_stats import rebuild_all_purchase_stats

    rebuild_all_purchase_stats()
