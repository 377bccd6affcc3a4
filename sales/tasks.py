"""Celery tasks of sales: thin interfaces that call the services."""

from celery import shared_task


# Nightly (see the beat entry "rebuild-purchase-stats"), and after bulk imports of orders: the
# order services keep the figures current; this repairs any drift in one set-based statement.
@shared_task(name="sales.rebuild_purchase_stats", soft_time_limit=1500, time_limit=1800)
def rebuild_purchase_stats_task() -> None:
    from sales.purchase_stats import rebuild_all_purchase_stats

    rebuild_all_purchase_stats()


# Every ten minutes (the beat entry "compact-pipeline-rollup"): the rollup's triggers append
# rows; this folds them back into one per key.
@shared_task(name="sales.compact_pipeline_rollup", soft_time_limit=240, time_limit=300)
def compact_pipeline_rollup_task() -> int:
    from sales.pipeline_rollup import compact_pipeline_rollup

    return compact_pipeline_rollup()


# Nightly (the beat entry "rebuild-pipeline-rollup"): repairs anything written with the
# triggers off.
@shared_task(name="sales.rebuild_pipeline_rollup", soft_time_limit=1500, time_limit=1800)
def rebuild_pipeline_rollup_task() -> None:
    from sales.pipeline_rollup import rebuild_pipeline_rollup

    rebuild_pipeline_rollup()
