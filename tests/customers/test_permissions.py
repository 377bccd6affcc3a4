"""The customer access policy: who sees and who changes which customer."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from customers import services
from customers.selectors import customer_get_for_user, customer_list_for_user

pytestmark = pytest.mark.django_db


def visible(user):
    return set(customer_list_for_user(user).values_list("name", flat=True))


def test_a_rep_sees_own_and_team_customers_only(rep, own_customer, team_customer,
                                                other_customer):
    assert visible(rep) == {"Acme Robotics", "Beta Foods"}


def test_a_manager_sees_the_managed_teams(manager, own_customer, team_customer, other_customer):
    assert visible(manager) == {"Acme Robotics", "Beta Foods"}


def test_admin_and_analyst_see_everything(admin, analyst, own_customer, team_customer,
                                          other_customer):
    everything = {"Acme Robotics", "Beta Foods", "Gamma Textiles"}
    assert visible(admin) == everything
    assert visible(analyst) == everything


def test_an_outsider_gets_404_and_a_read_only_user_403(outsider, analyst, own_customer):
    with pytest.raises(Http404):
        customer_get_for_user(outsider, own_customer.uuid)
    assert customer_get_for_user(analyst, own_customer.uuid) == own_customer
    with pytest.raises(PermissionDenied):
        customer_get_for_user(analyst, own_customer.uuid, "change")


def test_a_rep_changes_own_customers_but_not_the_teams(rep, own_customer, team_customer):
    assert customer_get_for_user(rep, own_customer.uuid, "change") == own_customer
    with pytest.raises(PermissionDenied):
        customer_get_for_user(rep, team_customer.uuid, "change")
    with pytest.raises(PermissionDenied):
        customer_get_for_user(rep, own_customer.uuid, "delete")


def test_sharing_lets_a_colleague_see_and_change_one_customer(rep, outsider, own_customer,
                                                              team_customer):
    services.customer_share(actor=rep, customer=own_customer, colleague=outsider,
                            can_change=True)
    outsider.__dict__.pop("_customer_policy", None)
    assert "Acme Robotics" in visible(outsider)
    assert "Beta Foods" not in visible(outsider)
    assert customer_get_for_user(outsider, own_customer.uuid, "change") == own_customer
    services.customer_unshare(actor=rep, customer=own_customer, colleague=outsider)
    del outsider._customer_policy
    with pytest.raises(Http404):
        customer_get_for_user(outsider, own_customer.uuid)


def test_deleted_customers_are_only_in_the_trash(manager, own_customer):
    services.customer_soft_delete(actor=manager, customer=own_customer)
    assert "Acme Robotics" not in visible(manager)
    with pytest.raises(Http404):
        customer_get_for_user(manager, own_customer.uuid)
    assert customer_get_for_user(manager, own_customer.uuid, "delete", deleted=True)
    services.customer_restore(actor=manager, customer=own_customer)
    assert "Acme Robotics" in visible(manager)


def test_the_list_query_count_does_not_grow_with_rows(rep, team, django_assert_num_queries):
    from tests.factories import CustomerFactory, TagFactory

    tag = TagFactory()
    from accounts.models import User

    def list_page():
        user = User.objects.get(pk=rep.pk)  # fresh: nothing cached from earlier
        with django_assert_num_queries(4):  # roles, teams, the page, its tags
            rows = list(customer_list_for_user(user)[:50])
            _ = [(c.owner, c.team, c.level, list(c.tags.all())) for c in rows]
        return rows

    CustomerFactory.create_batch(3, owner=rep, team=team, tags=[tag])
    assert len(list_page()) == 3
    CustomerFactory.create_batch(20, owner=rep, team=team, tags=[tag])
    assert len(list_page()) == 23


def test_contacts_of_a_customer_one_cannot_change_are_read_only(client_for, rep, team_customer):
    """Seeing a teammate's customer does not allow adding or deleting its contacts."""
    from tests.factories import ContactFactory

    contact = ContactFactory(customer=team_customer)
    client = client_for(rep)
    base = f"/customers/{team_customer.uuid}/contacts/"
    assert client.get(f"{base}new/").status_code == 403
    assert client.post(f"{base}{contact.uuid}/delete/").status_code == 403
    contact.refresh_from_db()
    assert contact.deleted_at is None


def test_marketing_changes_consent_and_nothing_else(client_for, own_customer, role_groups):
    from accounts import roles
    from tests.factories import ContactFactory, UserFactory

    marketer = UserFactory(email="mo.marketing@example.com", roles=[roles.MARKETING])
    contact = ContactFactory(customer=own_customer, first_name="Dana", national_id="X123")
    client = client_for(marketer)
    url = f"/customers/{own_customer.uuid}/contacts/{contact.uuid}/edit/"
    page = client.get(url).content.decode()
    assert "X123" not in page  # sensitive fields are not shown to consent-only editors
    response = client.post(url, {
        "first_name": "Hacked", "last_name": "", "email": contact.email,
        "preferred_channel": "phone", "marketing_consent": "on", "consent_method": "phone",
        "consent_source": "Call on 24 Nov", "version": contact.version,
    })
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Dana"
    assert contact.national_id == "X123"
    assert (contact.marketing_consent, contact.consent_method, contact.preferred_channel) == \
        (True, "phone", "phone")


def test_a_colleague_it_was_shared_with_cannot_share_it_further(client_for, rep, outsider,
                                                                 analyst, own_customer):
    services.customer_share(actor=rep, customer=own_customer, colleague=outsider,
                            can_change=True)
    response = client_for(outsider).post(f"/customers/{own_customer.uuid}/share/",
                                         {"colleague": analyst.uuid, "can_change": "on"})
    assert response.status_code == 403
    from customers.models import CustomerUserObjectPermission

    assert not CustomerUserObjectPermission.objects.filter(user=analyst).exists()
