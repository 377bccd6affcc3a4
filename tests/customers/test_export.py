"""Customer export: CSV and XLSX of the filtered list, through the access path, neutralised
against formula injection, audited, with a fixed number of queries."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from crm.models import Event
from customers.models import CustomFieldDefinition
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

URL = reverse("customers:export")


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_it_exports_the_visible_customers_as_csv(client_for, manager, own_customer,
                                                 team_customer, other_customer):
    CustomFieldDefinition.objects.create(entity="customer", key="seats", label="Seats",
                                         field_type="number")
    own_customer.tags.add(TagFactory(name="b-tag"), TagFactory(name="a-tag"))
    own_customer.custom_data = {"seats": 12}
    own_customer.save()
    rows = csv_rows(client_for(manager).get(URL, {"format": "csv"}))
    header = rows[0]
    assert header[:4] == ["Customer code", "Name", "Type", "Status"] and header[-1] == "Seats"
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {"Acme Robotics", "Beta Foods"}  # never the outsider's customer
    acme = by_name["Acme Robotics"]
    assert acme["Tags"] == "a-tag; b-tag" and acme["Seats"] == "12"
    assert acme["Owner"] == own_customer.owner.email and acme["Team"] == "Sales East"
    assert acme["Status"] == "Active" and acme["Type"] == "Company"


def test_it_neutralises_formulas_in_every_cell(client_for, admin):
    CustomerFactory(name="=cmd|' /C calc'!A0", email="", city="+1 town", address="@SUM(A1)",
                    description="-2+3", postcode="\t9", country="\rX")
    rows = csv_rows(client_for(admin).get(URL))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == "'=cmd|' /C calc'!A0"
    assert row["City"] == "'+1 town" and row["Address"] == "'@SUM(A1)"
    assert row["Notes"] == "'-2+3" and row["Postcode"] == "'\t9" and row["Country"] == "'\rX"


def test_it_exports_only_the_filtered_list(client_for, admin, own_customer, team_customer):
    rows = csv_rows(client_for(admin).get(URL, {"format": "csv", "q": "Acme"}))
    assert [r[1] for r in rows[1:]] == ["Acme Robotics"]
    event = Event.objects.get(name="customer.exported")
    assert event.actor == admin
    assert event.payload == {"format": "csv", "count": 1, "filters": {"q": "Acme"}}


def test_it_exports_xlsx_that_openpyxl_reads(client_for, analyst, own_customer,
                                             other_customer):
    own_customer.name = "=HYPERLINK(\"http://evil\")"
    own_customer.save()
    response = client_for(analyst).get(URL, {"format": "xlsx"})
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = list(book.active.iter_rows(values_only=True))
    assert values[0][:2] == ("Customer code", "Name")
    names = sorted(v[1] for v in values[1:])
    assert names == ["'=HYPERLINK(\"http://evil\")", "Gamma Textiles"]
    assert Event.objects.get(name="customer.exported").payload["format"] == "xlsx"


def test_it_sends_a_large_xlsx_to_the_background(client_for, admin, monkeypatch):
    from customers import transfer
    from customers.models.imports import ExportJob

    monkeypatch.setattr(transfer, "XLSX_INSTANT_ROWS", 2)
    CustomerFactory.create_batch(3)
    response = client_for(admin).get(URL, {"format": "xlsx", "ordering": "name"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and str(job.uuid) in response.url
    assert (job.format, job.created_by, job.query) == ("xlsx", admin, {"ordering": ["name"]})


def test_it_forbids_export_without_the_permission(client_for, rep, own_customer):
    response = client_for(rep).get(URL, {"format": "csv"})
    assert response.status_code == 403
    assert not Event.objects.filter(name="customer.exported").exists()


def test_it_sends_anonymous_users_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response.url


def test_it_keeps_an_outsiders_customers_out_of_a_managers_export(client_for, manager,
                                                                  other_customer):
    rows = csv_rows(client_for(manager).get(URL, {"q": "Gamma"}))
    assert rows[1:] == []


def test_it_ignores_invalid_filters_with_a_message(client_for, admin):
    response = client_for(admin).get(URL, {"status": "nonsense"}, follow=True)
    assert "not valid" in response.content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_exports_with_a_fixed_number_of_queries(client_for, manager, team,
                                                   django_assert_num_queries,
                                                   django_assert_max_num_queries, fmt):
    tags = TagFactory.create_batch(3)
    client = client_for(manager)
    CustomerFactory.create_batch(10, owner=manager, team=team, tags=tags)

    def export():
        response = client.get(URL, {"format": fmt})
        body = b"".join(response.streaming_content)
        assert response.status_code == 200
        return body

    export()
    with django_assert_max_num_queries(50) as few:
        export()
    CustomerFactory.create_batch(190, owner=manager, team=team, tags=tags)
    with django_assert_num_queries(len(few.captured_queries)) as many:
        body = export()
    assert len(many.captured_queries) <= 12
    if fmt == "csv":
        assert body.decode("utf-8-sig").count("\n") == 201


def test_it_neutralises_formulas_in_header_labels(client_for, admin):
    CustomFieldDefinition.objects.create(entity="customer", key="evil", label="=HYPERLINK(1)",
                                         field_type="text")
    CustomerFactory(name="Plain")
    rows = csv_rows(client_for(admin).get(URL))
    assert rows[0][-1] == "'=HYPERLINK(1)"
