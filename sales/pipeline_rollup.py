"""Upkeep of the pipeline rollup (sales.models.PipelineRollup), whose rows the database's
triggers append as opportunities change: folding them into one row per key, and rebuilding
the whole from the opportunities. Both are single set-based statements, run by Celery
(sales.tasks; the beat entries "compact-pipeline-rollup" and "rebuild-pipeline-rollup")."""

from __future__ import annotations

from django.db import connection, transaction

KEY = "month, owner_id, team_id, stage_id, currency"

# The keys with more than one row, or whose rows add up to nothing: their rows deleted and
# their sums written back as one row (none when they add up to nothing), in one statement.
# Rows appended meanwhile by other transactions are not in this statement's snapshot: they
# stay, for the next run. A second run at the same time waits for this one's rows, finds them
# gone and skips them.
_COMPACT = f"""
WITH keys AS (
    SELECT {KEY} FROM sales_pipelinerollup
     GROUP BY {KEY}
    HAVING COUNT(*) > 1 OR (SUM(n) = 0 AND SUM(amount) = 0 AND SUM(weighted) = 0)
), folded AS (
    DELETE FROM sales_pipelinerollup AS r USING keys AS k
     WHERE r.month = k.month AND r.owner_id IS NOT DISTINCT FROM k.owner_id
       AND r.team_id IS NOT DISTINCT FROM k.team_id AND r.stage_id = k.stage_id
       AND r.currency = k.currency
    RETURNING r.month, r.owner_id, r.team_id, r.stage_id, r.currency, r.n, r.amount, r.weighted
)
INSERT INTO sales_pipelinerollup ({KEY}, n, amount, weighted)
SELECT {KEY}, SUM(n), SUM(amount), SUM(weighted) FROM folded
 GROUP BY {KEY}
HAVING SUM(n) <> 0 OR SUM(amount) <> 0 OR SUM(weighted) <> 0
"""  # noqa: S608 (constants only)

# What an opportunity contributes, as the triggers count it (migration sales 0009).
_REBUILD = f"""
INSERT INTO sales_pipelinerollup ({KEY}, n, amount, weighted)
SELECT expected_close_date - (EXTRACT(DAY FROM expected_close_date)::int - 1),
       owner_id, team_id, stage_id, currency, COUNT(*), SUM(amount), SUM(amount * probability)
  FROM sales_opportunity WHERE deleted_at IS NULL
 GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 (constants only)


def compact_pipeline_rollup() -> int:
    """Fold each key's rows into one and drop the keys that add up to nothing; returns the
    number of rows written. Takes no lock a writer waits for: the triggers only append."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_COMPACT)
        return cursor.rowcount


@transaction.atomic
def rebuild_pipeline_rollup() -> None:
    """The rollup recomputed from the opportunities, repairing anything written with the
    triggers off. Writers of opportunities wait while it runs (a few seconds at a million
    opportunities); readers do not."""
    with connection.cursor() as cursor:
        # Writers out (SHARE conflicts with their ROW EXCLUSIVE), then a compaction that
        # may be running: the DELETE must see every row it replaces.
        cursor.execute("LOCK TABLE sales_opportunity IN SHARE MODE")
        cursor.execute("LOCK TABLE sales_pipelinerollup IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM sales_pipelinerollup")
        cursor.execute(_REBUILD)
