"""django-auditlog keeps field history, with the acting user, for account changes."""

import pytest
from auditlog.models import LogEntry

pytestmark = pytest.mark.django_db


def test_it_records_who_changed_which_field(client_for, admin, rep):
    client = client_for(admin)
    response = client.post(
        f"/users/{rep.uuid}/",
        {
            "email": rep.email,
            "first_name": "Robert",
            "last_name": rep.last_name,
            "title": "Senior rep",
            "phone": "",
            "language": "en",
            "roles": [g.pk for g in rep.groups.all()],
            "version": rep.version,
        },
    )
    assert response.status_code == 302
    entry = LogEntry.objects.get_for_object(rep).filter(action=LogEntry.Action.UPDATE).latest(
        "timestamp"
    )
    assert entry.actor == admin
    assert entry.changes_dict["first_name"][1] == "Robert"
    assert entry.changes_dict["title"][1] == "Senior rep"
    assert "password" not in entry.changes_dict
