"""The pipeline rollup's triggers (sales.models.PipelineRollup) on the table 0008 created,
and the rollup of the opportunities already there."""

from django.db import migrations

# The rollup is kept by the database, in the writing statement's transaction (see
# sales.models.PipelineRollup). Statement triggers with transition tables: one grouped INSERT
# per statement, whatever its size (a COPY of a million opportunities included), appended
# (no lock on the rows already there; sales.pipeline_rollup folds them). A statement that
# changes nothing the rollup adds up (a rename, a version bump) nets to zero and writes nothing.
CONTRIBUTION = """
    SELECT {rows}.expected_close_date - (EXTRACT(DAY FROM {rows}.expected_close_date)::int - 1)
               AS month,
           {rows}.owner_id, {rows}.team_id, {rows}.stage_id, {rows}.currency,
           {sign} AS n, {sign} * {rows}.amount AS amount,
           {sign} * {rows}.amount * {rows}.probability AS weighted
      FROM {rows} WHERE {rows}.deleted_at IS NULL"""

APPEND = """
    INSERT INTO sales_pipelinerollup
           (month, owner_id, team_id, stage_id, currency, n, amount, weighted)
    SELECT d.month, d.owner_id, d.team_id, d.stage_id, d.currency,
           SUM(d.n), SUM(d.amount), SUM(d.weighted)
      FROM ({parts}) AS d
     GROUP BY d.month, d.owner_id, d.team_id, d.stage_id, d.currency
    HAVING SUM(d.n) <> 0 OR SUM(d.amount) <> 0 OR SUM(d.weighted) <> 0;"""

ADDED = CONTRIBUTION.format(rows="new_rows", sign="1")
REMOVED = CONTRIBUTION.format(rows="old_rows", sign="-1")

# A list, one statement each (a string would be split on its semicolons, $$ bodies included).
FORWARD = [
    f"""CREATE FUNCTION sales_pipeline_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {APPEND.format(parts=ADDED)}
  ELSIF TG_OP = 'DELETE' THEN
    {APPEND.format(parts=REMOVED)}
  ELSE
    {APPEND.format(parts=ADDED + " UNION ALL " + REMOVED)}
  END IF;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION sales_pipeline_rollup_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM sales_pipelinerollup;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER sales_pipeline_rollup_insert AFTER INSERT ON sales_opportunity
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sales_pipeline_rollup_apply()""",
    """CREATE TRIGGER sales_pipeline_rollup_update AFTER UPDATE ON sales_opportunity
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sales_pipeline_rollup_apply()""",
    """CREATE TRIGGER sales_pipeline_rollup_delete AFTER DELETE ON sales_opportunity
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sales_pipeline_rollup_apply()""",
    """CREATE TRIGGER sales_pipeline_rollup_truncate AFTER TRUNCATE ON sales_opportunity
  FOR EACH STATEMENT EXECUTE FUNCTION sales_pipeline_rollup_clear()""",
    # What is there already (the triggers' lock keeps writers out until this commits).
    APPEND.format(parts=CONTRIBUTION.format(rows="sales_opportunity", sign="1")),
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS sales_pipeline_rollup_insert ON sales_opportunity",
    "DROP TRIGGER IF EXISTS sales_pipeline_rollup_update ON sales_opportunity",
    "DROP TRIGGER IF EXISTS sales_pipeline_rollup_delete ON sales_opportunity",
    "DROP TRIGGER IF EXISTS sales_pipeline_rollup_truncate ON sales_opportunity",
    "DROP FUNCTION IF EXISTS sales_pipeline_rollup_apply()",
    "DROP FUNCTION IF EXISTS sales_pipeline_rollup_clear()",
]


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0008_pipeline_rollup"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
