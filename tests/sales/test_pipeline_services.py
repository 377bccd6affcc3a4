"""The opportunity services' bookkeeping: events and versions."""

import pytest

from crm.models import Event
from sales import pipeline_services
from sales.models import Opportunity
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def test_an_edit_that_also_moves_the_stage_records_both_the_edit_and_the_move(
        rep, own_customer, pipeline):
    opportunity = OpportunityFactory(customer=own_customer)

    pipeline_services.opportunity_update(
        actor=rep, opportunity=opportunity, expected_version=opportunity.version,
        data={"amount": 25000, "stage": pipeline["Proposal"]})

    names = list(Event.objects.filter(subject_id=str(opportunity.pk))
                 .order_by("id").values_list("name", flat=True))
    assert names == ["opportunity.updated", "opportunity.stage_changed"]
    updated = Event.objects.get(name="opportunity.updated")
    assert updated.payload["fields"] == ["amount"]


def test_trashing_and_restoring_bump_the_version_so_open_forms_go_stale(
        rep, own_customer, pipeline):
    opportunity = OpportunityFactory(customer=own_customer)
    version = opportunity.version

    pipeline_services.opportunity_delete(actor=rep, opportunity=opportunity)
    pipeline_services.opportunity_restore(actor=rep, opportunity=opportunity)

    assert Opportunity.objects.get(pk=opportunity.pk).version == version + 2
