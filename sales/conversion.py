"""Converting a lead into a customer, a contact and (optionally) an opportunity.

`find_matches(lead, user)` first looks for customers the user can already see that are
probably the same party, so the user links the lead to one of them instead of creating a
duplicate. Two queries, both served by indexes:

1. the contacts with the lead's e-mail (UPPER(email) = ..., the trigram GIN index on
   UPPER(email) answers equality) or containing its phone digits (trigram GIN on
   phone_digits): their customer ids, at most MATCH_LIMIT;
2. the visible customers with the same e-mail (UPPER(email)), the same phone digits (btree
   `customer_phone_exact`), one of those ids, or a name similar to the lead's company or
   full name (`UPPER(name) % ...`, the trigram GIN index on UPPER(name), then
   similarity() >= NAME_THRESHOLD), exact matches first, best MATCH_LIMIT.

`convert_lead(...)` does the conversion in one transaction through the customers services
and sales.pipeline_services, and records "lead.converted" on the customer's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Greatest, Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.events import event_record
from crm.exceptions import ApplicationError, StaleObjectError
from customers import services as customer_services
from customers.models import Contact, Customer
from customers.permissions import policy_for as customer_policy_for
from customers.selectors import customer_list_for_user
from sales.models import Lead
from sales.permissions import sales_policy_for
from sales.pipeline_services import opportunity_create

MATCH_LIMIT = 10
NAME_THRESHOLD = 0.4
# Fewer phone digits than this match too many numbers to mean anything.
MIN_PHONE_DIGITS = 6

EMAIL, PHONE, CONTACT, NAME = "email", "phone", "contact", "name"
REASON_LABELS = {
    EMAIL: gettext_lazy("same e-mail"),
    PHONE: gettext_lazy("same phone"),
    CONTACT: gettext_lazy("a contact has the lead's e-mail or phone"),
    NAME: gettext_lazy("similar name"),
}

CONTACT_AUTO = "auto"      # link the customer's contact with the lead's e-mail, else create
CONTACT_CREATE = "create"  # always create a new contact from the lead
CONTACT_NONE = "none"      # no contact


def _names(lead: Lead) -> list[str]:
    return [n.upper() for n in {(lead.company or "").strip(), lead.full_name.strip()} if n]


def find_matches(lead: Lead, user) -> list[Customer]:
    """The customers `user` can see that probably are the lead's party, best first, each with
    `match_reasons` (a list of EMAIL, PHONE, CONTACT, NAME) and `match_score` (0..1)."""
    email = (lead.email or "").strip()
    digits = lead.phone_digits if len(lead.phone_digits or "") >= MIN_PHONE_DIGITS else ""
    names = _names(lead)

    contact_q = Q()
    if email:
        contact_q |= Q(email__iexact=email)
    if digits:
        contact_q |= Q(phone_digits__contains=digits)
    contact_customer_ids: set[int] = set()
    if contact_q:
        contact_customer_ids = set(
            Contact.objects.alive().filter(contact_q)
            .values_list("customer_id", flat=True)[:MATCH_LIMIT]
        )

    exact = Q()
    if email:
        exact |= Q(email__iexact=email)
    if digits:
        exact |= Q(phone_digits=digits)
    if contact_customer_ids:
        exact |= Q(pk__in=list(contact_customer_ids))
    similar = Q()
    for name in names:
        similar |= Q(name_upper__trigram_similar=name)
    if not exact and not similar:
        return []

    qs = (customer_list_for_user(user).prefetch_related(None).select_related(None)
          .select_related("owner", "team").annotate(name_upper=Upper("name")))
    if names:
        scores = [TrigramSimilarity("name_upper", Value(n)) for n in names]
        qs = qs.annotate(name_score=Greatest(*scores) if len(scores) > 1 else scores[0])
    else:
        qs = qs.annotate(name_score=Value(0.0))
    match = exact | (similar & Q(name_score__gte=NAME_THRESHOLD)) if similar else exact
    qs = qs.filter(match)
    if exact:
        qs = qs.annotate(is_exact=Case(When(exact, then=Value(1)), default=Value(0),
                                       output_field=IntegerField()))
    else:
        qs = qs.annotate(is_exact=Value(0, output_field=IntegerField()))
    customers = list(qs.order_by("-is_exact", "-name_score", "name", "id")[:MATCH_LIMIT])

    for customer in customers:
        reasons = []
        if email and customer.email and customer.email.upper() == email.upper():
            reasons.append(EMAIL)
        if digits and customer.phone_digits == digits:
            reasons.append(PHONE)
        if customer.pk in contact_customer_ids:
            reasons.append(CONTACT)
        score = float(customer.name_score or 0)
        if score >= NAME_THRESHOLD:
            reasons.append(NAME)
        customer.match_reasons = reasons
        customer.match_reason_labels = [REASON_LABELS[r] for r in reasons]
        customer.match_score = 1.0 if customer.is_exact else score
    return customers


def customer_data_from_lead(lead: Lead) -> dict:
    """The new customer's fields as the lead gives them (the convert form starts from these)."""
    is_company = bool((lead.company or "").strip())
    return {
        "kind": Customer.Kind.COMPANY if is_company else Customer.Kind.PERSON,
        "name": lead.company.strip() if is_company else lead.full_name,
        "email": lead.email,
        "phone": lead.phone,
        "website": lead.website,
        "industry": lead.industry,
        "source": lead.source,
        "region": lead.region,
        "owner": lead.owner,
        "team": lead.team,
    }


def contact_data_from_lead(lead: Lead) -> dict:
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "title": lead.title,
        "email": lead.email,
        "phone": lead.phone,
        "marketing_consent": lead.marketing_consent,
    }
    if lead.marketing_consent:
        data["consent_method"] = Contact.ConsentMethod.WEB_FORM if lead.web_form_id \
            else Contact.ConsentMethod.EMAIL
        data["consent_source"] = _("Lead %(name)s") % {"name": lead.full_name}
    return data


@dataclass
class ConversionResult:
    lead: Lead
    customer: Customer
    contact: Contact | None
    opportunity: object | None
    customer_created: bool
    contact_created: bool


@transaction.atomic
def convert_lead(
    *,
    actor,
    lead: Lead,
    customer: Customer | None = None,
    customer_data: dict | None = None,
    contact_mode: str = CONTACT_AUTO,
    create_opportunity: bool = True,
    opportunity_data: dict | None = None,
    expected_version: int | None = None,
) -> ConversionResult:
    """Convert `lead`: link it to `customer` (an existing one the actor can see) or create one
    from `customer_data` (defaults: the lead's own fields); create its contact (or, with
    CONTACT_AUTO, link the customer's contact that has the lead's e-mail); create an
    opportunity from `opportunity_data` (name, amount, expected_close_date, ...) when asked.
    All or nothing; refuses an already converted lead."""
    if not sales_policy_for(actor).can("convert", lead, "lead"):
        raise PermissionDenied
    current = Lead.objects.select_for_update().get(pk=lead.pk)
    if current.status == Lead.Status.CONVERTED or current.converted_at is not None:
        raise ApplicationError(_("This lead has already been converted."))
    if current.deleted_at is not None:
        raise ApplicationError(_("This lead is in the trash."))
    if expected_version is not None and current.version != expected_version:
        raise StaleObjectError()
    if contact_mode not in (CONTACT_AUTO, CONTACT_CREATE, CONTACT_NONE):
        raise ApplicationError(_("Choose what to do with the contact."))
    lead = current

    customer_policy = customer_policy_for(actor)
    customer_created = False
    if customer is not None:
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at is not None or not customer_policy.can_view(customer):
            raise ApplicationError(_("Choose a customer you can see."))
    else:
        if not actor.has_perm("customers.add_customer"):
            raise ApplicationError(_("You may not create customers: link the lead to an "
                                     "existing customer instead."))
        data = {**customer_data_from_lead(lead), **(customer_data or {})}
        if data.get("owner") is None:
            data["owner"] = actor
        if not (data.get("name") or "").strip():
            raise ApplicationError(_("Give the new customer a name."))
        customer = customer_services.customer_create(actor=actor, data=data)
        customer_created = True

    contact, contact_created = None, False
    if contact_mode != CONTACT_NONE:
        if contact_mode == CONTACT_AUTO and lead.email and not customer_created:
            contact = (Contact.objects.alive().filter(customer=customer,
                                                      email__iexact=lead.email)
                       .order_by("-is_primary", "id").first())
        if contact is None:
            if not customer_policy.contact_can("add", customer):
                raise ApplicationError(_(
                    "You may not add contacts to this customer. Link the lead without a "
                    "contact, or ask the customer's owner."))
            contact = customer_services.contact_create(
                actor=actor, customer=customer, data=contact_data_from_lead(lead))
            contact_created = True

    opportunity = None
    if create_opportunity:
        data = dict(opportunity_data or {})
        if not (data.get("name") or "").strip():
            raise ApplicationError(_("Give the opportunity a name."))
        if data.get("expected_close_date") is None:
            raise ApplicationError(_("Give the opportunity an expected close date."))
        data.update(customer=customer, contact=contact, lead=lead)
        data.setdefault("owner", lead.owner or actor)
        data.setdefault("team", customer.team)
        opportunity = opportunity_create(actor=actor, data=data)

    now = timezone.now()
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = now
    lead.converted_customer = customer
    lead.converted_contact = contact
    lead.converted_opportunity = opportunity
    lead.version += 1
    lead.save(update_fields=["status", "converted_at", "converted_customer",
                             "converted_contact", "converted_opportunity", "version",
                             "updated_at"])
    event_record(
        name="lead.converted", actor=actor, customer_id=customer.pk, subject=lead,
        payload={
            "lead": str(lead.uuid), "name": str(lead), "customer": customer.name,
            "customer_created": customer_created,
            "contact": str(contact) if contact else "", "contact_created": contact_created,
            "opportunity": str(opportunity.uuid) if opportunity else "",
        },
    )
    return ConversionResult(lead=lead, customer=customer, contact=contact,
                            opportunity=opportunity, customer_created=customer_created,
                            contact_created=contact_created)
