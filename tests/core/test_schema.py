"""The schema carries no index that another one already makes redundant: a btree index whose
columns start another btree index of the same table (same operator classes, neither partial
nor on expressions) serves no query the longer one cannot, and every insert pays for it."""

from __future__ import annotations

import pytest
from django.db import connection

# Tables whose indexes Django or a package makes and we do not define: the auth and
# permission tables, many-to-many tables Django creates, the login-attempt and audit log.
NOT_OURS = ("auth_", "django_", "guardian_", "axes_", "auditlog_", "otp_", "accounts_user_groups",
            "accounts_user_user_permissions", "accounts_team_members",
            "customers_customeruserobjectpermission")

REDUNDANT = """
SELECT a.indrelid::regclass::text, a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM pg_index a
JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
JOIN pg_class ca ON ca.oid = a.indexrelid
JOIN pg_class cb ON cb.oid = b.indexrelid
JOIN pg_namespace n ON n.oid = ca.relnamespace
WHERE n.nspname = current_schema() AND NOT a.indisunique
  AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
  AND ca.relam = cb.relam AND ca.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
  AND a.indnatts <= b.indnatts
  AND array_to_string((a.indkey::int2[])[0:a.indnatts - 1], ',')
      = array_to_string((b.indkey::int2[])[0:a.indnatts - 1], ',')
  AND array_to_string((a.indclass::oid[])[0:a.indnatts - 1], ',')
      = array_to_string((b.indclass::oid[])[0:a.indnatts - 1], ',')
ORDER BY 1, 2
"""


@pytest.mark.django_db
def test_no_index_repeats_the_start_of_another():
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT)
        found = [row for row in cursor.fetchall() if not row[0].startswith(NOT_OURS)]
    assert found == []


@pytest.mark.django_db
def test_the_check_finds_a_redundant_index():
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX test_redundant ON customers_customertag (tag_id)")
        cursor.execute(REDUNDANT)
        found = [row for row in cursor.fetchall() if not row[0].startswith(NOT_OURS)]
    assert found == [("customers_customertag", "test_redundant", "customer_tag_by_tag")]
