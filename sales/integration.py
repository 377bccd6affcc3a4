"""How sales plugs into the customers module, through its registries (customers never imports
sales): the merge handlers, the GDPR exporter and eraser, global search providers, the
"Opportunities" panel of the 360 page and the timeline describers of sales events.

Call `register()` once at start-up (SalesConfig.ready()). Every registry is keyed, so a second
call changes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Greatest, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import search
from crm.rows import optional_url
from customers.models import phone_digits

PANEL_KEY = "sales.opportunities"
PANEL_LIMIT = 5
SEARCH_CANDIDATES = 200
MIN_LIKE_LENGTH = 3
MIN_PHONE_DIGITS = 3
PHONE_LIKE = re.compile(r"[0-9 +\-().\/]+")


# --- merge ------------------------------------------------------------------------------------
PURCHASE_STATS_SQL = """
INSERT INTO {stats} (customer_id, first_order_at, last_order_at, order_count, total_spent,
                     average_order_value, updated_at)
SELECT c.id, MIN(o.ordered_at), MAX(o.ordered_at), COUNT(o.id), COALESCE(SUM(o.total), 0),
       COALESCE(ROUND(SUM(o.total) / NULLIF(COUNT(o.id), 0), 2), 0), NOW()
FROM unnest(%s::bigint[]) AS c(id)
LEFT JOIN {orders} o ON o.customer_id = c.id AND o.status = ANY(%s)
                    AND o.deleted_at IS NULL
GROUP BY c.id
ON CONFLICT (customer_id) DO UPDATE SET
    first_order_at = EXCLUDED.first_order_at, last_order_at = EXCLUDED.last_order_at,
    order_count = EXCLUDED.order_count, total_spent = EXCLUDED.total_spent,
    average_order_value = EXCLUDED.average_order_value, updated_at = EXCLUDED.updated_at
"""


def refresh_purchase_stats(customer_ids) -> None:
    """Recompute the purchase figures of these customers: the order services' function when
    there is one, else one INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE."""
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return
    try:
        from sales.purchase_stats import refresh_purchase_stats as refresh
    except ImportError:
        refresh = None
    if refresh is not None:
        refresh(ids)
        return
    from sales.models import CustomerPurchaseStats, Order

    sql = PURCHASE_STATS_SQL.format(stats=CustomerPurchaseStats._meta.db_table,
                                    orders=Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, [str(s) for s in Order.PLACED]])


def _merge_opportunities(source, target, actor) -> int:
    from sales.models import Opportunity

    # Their contacts moved with the customer (customers.contacts), so they stay valid.
    return Opportunity._base_manager.filter(customer=source).update(
        customer=target, updated_at=timezone.now())


def _merge_leads(source, target, actor) -> int:
    from sales.models import Lead

    return Lead._base_manager.filter(converted_customer=source).update(
        converted_customer=target, updated_at=timezone.now())


def _merge_orders(source, target, actor) -> int:
    """Move the orders, recompute both customers' figures; the duplicate's figures row goes
    (it has no orders left, and a second row cannot move onto the target's)."""
    from sales.models import CustomerPurchaseStats, Order

    moved = Order._base_manager.filter(customer=source).update(
        customer=target, updated_at=timezone.now())
    refresh_purchase_stats([source.pk, target.pk])
    CustomerPurchaseStats.objects.filter(customer_id=source.pk).delete()
    return moved


# --- GDPR -------------------------------------------------------------------------------------
def _iso(value):
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _money(value) -> str | None:
    return None if value is None else str(value)


def _gdpr_export(customer, contact) -> dict:
    from sales.models import Lead, Opportunity, Order

    if contact is None:
        leads = Lead._base_manager.filter(converted_customer=customer)
        opportunities = Opportunity._base_manager.filter(customer=customer)
        orders = Order._base_manager.filter(customer=customer)
    else:
        leads = Lead._base_manager.filter(converted_contact=contact)
        opportunities = Opportunity._base_manager.filter(contact=contact)
        orders = Order._base_manager.filter(contact=contact)
    return {
        "leads": [
            {"uuid": str(lead.uuid), "first_name": lead.first_name,
             "last_name": lead.last_name, "company": lead.company, "title": lead.title,
             "email": lead.email, "phone": lead.phone, "website": lead.website,
             "message": lead.message, "notes": lead.description, "status": lead.status,
             "source": lead.source.label if lead.source_id else None,
             "marketing_consent": lead.marketing_consent,
             "web_form": lead.web_form.name if lead.web_form_id else None,
             "created_at": _iso(lead.created_at), "converted_at": _iso(lead.converted_at)}
            for lead in leads.select_related("source", "web_form").order_by("created_at", "id")
        ],
        "opportunities": [
            {"uuid": str(o.uuid), "name": o.name, "stage": o.stage.name,
             "amount": _money(o.amount), "currency": o.currency,
             "probability": o.probability, "expected_close_date": _iso(o.expected_close_date),
             "closed_at": _iso(o.closed_at), "lost_reason": o.lost_reason,
             "notes": o.description, "created_at": _iso(o.created_at),
             "deleted_at": _iso(o.deleted_at)}
            for o in opportunities.select_related("stage").order_by("created_at", "id")
        ],
        "orders": [
            {"uuid": str(o.uuid), "number": o.number, "status": o.status,
             "currency": o.currency, "total": _money(o.total), "ordered_at": _iso(o.ordered_at),
             "cancelled_at": _iso(o.cancelled_at), "notes": o.notes,
             "created_at": _iso(o.created_at), "deleted_at": _iso(o.deleted_at),
             "lines": [
                 {"sku": line.product.sku, "product": line.product.name,
                  "description": line.description, "quantity": line.quantity,
                  "unit_price": _money(line.unit_price),
                  "discount_percent": _money(line.discount_percent),
                  "line_total": _money(line.line_total)}
                 for line in o.lines.all()
             ]}
            for o in orders.prefetch_related("lines__product").order_by("created_at", "id")
        ],
    }


def _gdpr_erase(customer, contact, actor) -> int:
    """Leads converted into the customer (or the contact) lose their personal values; their
    status, dates, score and links stay, as do opportunities, orders and figures."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from crm.models import Event
    from customers.gdpr import ERASED, _scrub_events, _scrub_log, _secrets
    from sales.models import Lead

    leads = Lead._base_manager.filter(
        converted_customer=customer) if contact is None else Lead._base_manager.filter(
        converted_contact=contact)
    rows = list(leads.only("id", "first_name", "last_name", "email", "phone", "title",
                           "company", "website", "message", "description"))
    if not rows:
        return 0
    secrets = _secrets(*[value for lead in rows for value in (
        lead.first_name, lead.last_name, lead.full_name, lead.email, lead.phone, lead.message,
        lead.description, lead.website)])
    personal = {"first_name": ERASED, "last_name": "", "email": "", "phone": "",
                "phone_digits": "", "title": "", "website": "", "message": "",
                "description": ""}
    if contact is None and customer.kind == customer.Kind.PERSON:
        personal["company"] = ""  # a person's "company" is their own name
    ids = [lead.pk for lead in rows]
    Lead._base_manager.filter(pk__in=ids).update(**personal, updated_at=timezone.now())
    lead_type = ContentType.objects.get_for_model(Lead)
    _scrub_events(Event.objects.filter(subject_type=lead_type,
                                       subject_id__in=[str(pk) for pk in ids]), secrets)
    _scrub_log(LogEntry.objects.filter(content_type=lead_type, object_id__in=ids), secrets,
               set(personal))
    return len(ids)


# --- global search ----------------------------------------------------------------------------
def _similar(expression: str, term: str) -> Q:
    return (Q(**{f"{expression}__trigram_similar": term})
            | Q(**{f"{expression}__trigram_word_similar": term}))


def _like(column: str, term: str) -> Q:
    return Q(**{f"{column}__icontains": term}) if len(term) >= MIN_LIKE_LENGTH else Q()


def _ranked(qs, exact: Q, fuzzy: Q | tuple[Q, ...], score, annotations: dict):
    """One query: the first SEARCH_CANDIDATES visible matches (index-served), best first. The
    substring matches come first and the similarity ones only when those are too few (see
    customers.search.candidates): a common term never pays for the % and %> operators."""
    from customers.search import candidates

    visible = qs.select_related(None).annotate(**annotations)
    fuzzy = fuzzy if isinstance(fuzzy, tuple) else (fuzzy,)
    return (qs.model._base_manager.filter(pk__in=candidates(visible, exact, *fuzzy))
            .annotate(**annotations).annotate(match_score=score))


def _leads_for(user, query: str, limit: int) -> list[search.SearchResult]:
    from sales.selectors import lead_list_for_user

    upper = query.upper()
    fuzzy = (_similar("first_upper", upper) | _similar("last_upper", upper)
             | _similar("company_upper", upper))
    exact = (_like("first_name", query) | _like("last_name", query) | _like("company", query)
             | _like("email", query))
    digits = phone_digits(query)
    if len(digits) >= MIN_PHONE_DIGITS and PHONE_LIKE.fullmatch(query):
        exact |= Q(phone_digits__contains=digits)
    annotations = {"first_upper": Upper("first_name"), "last_upper": Upper("last_name"),
                   "company_upper": Upper("company")}
    score = Greatest(TrigramSimilarity("first_upper", upper),
                     TrigramSimilarity("last_upper", upper),
                     TrigramSimilarity("company_upper", upper))
    rows = (_ranked(lead_list_for_user(user), exact, fuzzy, score, annotations)
            .order_by("-match_score", "-created_at", "-id")
            .only("uuid", "first_name", "last_name", "company", "email", "status")[:limit])
    return [search.SearchResult(
        title=lead.full_name or lead.company,
        subtitle=" · ".join(p for p in (lead.company, lead.email, lead.get_status_display())
                            if p),
        url=optional_url("sales:lead_detail", uuid=lead.uuid), kind="leads") for lead in rows]


def _opportunities_for(user, query: str, limit: int) -> list[search.SearchResult]:
    from sales.selectors import opportunity_list_for_user

    upper = query.upper()
    rows = (_ranked(opportunity_list_for_user(user), _like("name", query),
                    _similar("name_upper", upper),
                    TrigramSimilarity("name_upper", upper), {"name_upper": Upper("name")})
            .select_related("customer", "stage")
            .order_by("-match_score", "-created_at", "-id")
            .only("uuid", "name", "amount", "currency", "customer__name", "stage__name")[:limit])
    return [search.SearchResult(
        title=o.name,
        subtitle=" · ".join((o.customer.name, o.stage.name, f"{o.amount:,.2f} {o.currency}")),
        url=optional_url("sales:opportunity_detail", uuid=o.uuid), kind="opportunities")
        for o in rows]


def _orders_for(user, query: str, limit: int) -> list[search.SearchResult]:
    from sales.selectors import order_list_for_user

    upper = query.upper()
    rows = (_ranked(order_list_for_user(user), _like("number", query),
                    _similar("number_upper", upper),
                    TrigramSimilarity("number_upper", upper), {"number_upper": Upper("number")})
            .select_related("customer")
            .order_by("-match_score", "-created_at", "-id")
            .only("uuid", "number", "status", "total", "currency", "customer__name")[:limit])
    return [search.SearchResult(
        title=o.number,
        subtitle=" · ".join((o.customer.name, o.get_status_display(),
                             f"{o.total:,.2f} {o.currency}")),
        url=optional_url("sales:order_detail", uuid=o.uuid), kind="orders") for o in rows]


def _products_for(user, query: str, limit: int) -> list[search.SearchResult]:
    from sales.selectors import product_list_for_user

    upper = query.upper()
    # One similarity operator per branch: the catalogue is small enough that the planner would
    # otherwise scan it, computing four similarities per product (90 ms for 5,000 products).
    fuzzy = (Q(name_upper__trigram_similar=upper), Q(name_upper__trigram_word_similar=upper),
             Q(sku_upper__trigram_similar=upper), Q(sku_upper__trigram_word_similar=upper))
    exact = _like("name", query) | _like("sku", query)
    score = Greatest(TrigramSimilarity("name_upper", upper), TrigramSimilarity("sku_upper", upper))
    rows = (_ranked(product_list_for_user(user), exact, fuzzy, score,
                    {"name_upper": Upper("name"), "sku_upper": Upper("sku")})
            .order_by("-match_score", "name", "id")
            .only("uuid", "sku", "name", "price", "currency", "stock_quantity")[:limit])
    return [search.SearchResult(
        title=p.name,
        subtitle=" · ".join((p.sku, f"{p.price:,.2f} {p.currency}",
                             str(_("%(count)s in stock") % {"count": p.stock_quantity}))),
        url=optional_url("sales:product_detail", uuid=p.uuid), kind="products") for p in rows]


# --- the 360 panel ----------------------------------------------------------------------------
def opportunities_html(opportunities, today) -> str:
    """The panel's opportunity list items (_customer_opportunities.html's loop), built here
    rather than by the template: the same markup, byte for byte, every value escaped and
    every text translated, without a URL lookup and four filters per opportunity."""
    from django.template.defaultfilters import date as date_filter
    from django.template.defaultfilters import floatformat
    from django.utils.html import conditional_escape, escape
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    from crm.rows import empty_item, optional_url_maker

    if not opportunities:
        return empty_item(gettext("No open opportunities."))
    detail_url = optional_url_maker("sales:opportunity_detail")
    expected = conditional_escape(gettext("Expected close"))
    out = []
    for opportunity in opportunities:
        name = escape(opportunity.name)
        title = (f'<a href="{escape(detail_url(opportunity.uuid))}" class="fw-semibold">'
                 f'{name}</a>' if detail_url else f'<span class="fw-semibold">{name}</span>')
        close = opportunity.expected_close_date
        late = close is not None and close < today
        out.append(
            f'\n  <li class="list-group-item d-flex justify-content-between gap-2">'
            f'\n    <div class="text-break">\n      \n      {title}'
            f'\n      <div class="text-body-secondary">{escape(opportunity.stage.name)} · '
            f'{floatformat(opportunity.amount, "2g")} {escape(opportunity.currency)}</div>'
            f'\n    </div>\n    <time class="text-nowrap'
            f'{" text-danger" if late else " text-body-secondary"}" datetime="'
            f'{escape(date_filter(close, "Y-m-d"))}" title="{expected}">'
            f'{escape(date_filter(close, "SHORT_DATE_FORMAT"))}</time>\n  </li>\n  ')
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def opportunity_panel_context(customer, user) -> dict:
    """Two queries: the open opportunities (soonest close first), and the won/lost figures."""
    from sales.selectors import opportunity_list_for_user

    visible = opportunity_list_for_user(user).filter(customer=customer)
    open_ones = list(
        visible.filter(stage__is_won=False, stage__is_lost=False)
        .select_related(None).select_related("stage")
        .only("id", "uuid", "name", "amount", "currency", "expected_close_date", "stage")
        .order_by("expected_close_date", "id")[: PANEL_LIMIT + 1])
    figures = visible.select_related(None).order_by().aggregate(
        won=Count("id", filter=Q(stage__is_won=True)),
        lost=Count("id", filter=Q(stage__is_lost=True)),
        won_amount=Sum("amount", filter=Q(stage__is_won=True)),
    )
    can_add = user.has_perm("sales.add_opportunity")
    create_url = optional_url("sales:opportunity_create") if can_add else ""
    today = timezone.localdate()
    return {
        "opportunities": open_ones[:PANEL_LIMIT],
        "opportunities_html": opportunities_html(open_ones[:PANEL_LIMIT], today),
        "more_open": len(open_ones) > PANEL_LIMIT,
        "limit": PANEL_LIMIT,
        "won_count": figures["won"],
        "lost_count": figures["lost"],
        "won_amount": figures["won_amount"] or Decimal("0"),
        "today": today,
        "create_url": f"{create_url}?customer={customer.uuid}" if create_url else "",
        "list_url": optional_url("sales:opportunity_list"),
    }


# --- timeline describers ----------------------------------------------------------------------
def _payload(event) -> dict:
    return event.payload if isinstance(event.payload, dict) else {}


def _amount(payload) -> str:
    amount, currency = payload.get("amount"), payload.get("currency") or ""
    if amount in (None, ""):
        return ""
    try:
        return f"{Decimal(str(amount)):,.2f} {currency}".strip()
    except ArithmeticError:
        return f"{amount} {currency}".strip()


def _name(payload, *keys) -> str:
    for key in keys:
        if payload.get(key):
            return str(payload[key])
    return ""


def _described(with_values, without, keys):
    """A describer: `with_values % payload values` when the first key has a value."""
    def describe(event) -> str:
        payload = _payload(event)
        values = {"name": _name(payload, "name", "title", "opportunity_name", "lead_name"),
                  "amount": _amount(payload), "stage": _name(payload, "stage"),
                  "from_stage": _name(payload, "from_stage"),
                  "reason": _name(payload, "reason", "lost_reason"),
                  "action": _name(payload, "action", "step"),
                  "status": _name(payload, "status")}
        if all(values[key] for key in keys):
            return str(with_values) % values
        return str(without)
    return describe


def _opportunity_updated(event) -> str:
    from customers.timeline import field_labels
    from sales.models import Opportunity

    payload = _payload(event)
    fields = ", ".join(field_labels(Opportunity, payload.get("fields")))
    name = _name(payload, "name")
    if name and fields:
        return str(_("Opportunity %(name)s changed: %(fields)s") % {"name": name,
                                                                   "fields": fields})
    return str(_("Opportunity %(name)s changed") % {"name": name}) if name else str(
        _("Opportunity changed"))


def _plan_closed(event) -> str:
    payload = _payload(event)
    name, status = _name(payload, "title", "name"), payload.get("status")
    if status == "succeeded":
        return str(_("Development plan succeeded: %(name)s") % {"name": name}) if name else str(
            _("Development plan succeeded"))
    if status == "failed":
        return str(_("Development plan failed: %(name)s") % {"name": name}) if name else str(
            _("Development plan failed"))
    return str(_("Development plan ended: %(name)s") % {"name": name}) if name else str(
        _("Development plan ended"))


DESCRIBERS = {
    "lead.converted": _described(_("Converted from the lead %(name)s"),
                                 _("Converted from a lead"), ["name"]),
    "opportunity.created": _described(_("Opportunity %(name)s opened (%(amount)s, %(stage)s)"),
                                      _("Opportunity opened"), ["name", "amount", "stage"]),
    "opportunity.stage_changed": _described(
        _("Opportunity %(name)s moved from %(from_stage)s to %(stage)s"),
        _("Opportunity moved to another stage"), ["name", "from_stage", "stage"]),
    "opportunity.won": _described(_("Opportunity won: %(name)s (%(amount)s)"),
                                  _("Opportunity won"), ["name", "amount"]),
    "opportunity.lost": _described(_("Opportunity lost: %(name)s (%(reason)s)"),
                                   _("Opportunity lost"), ["name", "reason"]),
    "opportunity.updated": _opportunity_updated,
    "opportunity.deleted": _described(_("Opportunity %(name)s moved to the trash"),
                                      _("Opportunity moved to the trash"), ["name"]),
    "opportunity.restored": _described(_("Opportunity %(name)s restored"),
                                       _("Opportunity restored"), ["name"]),
    "plan.created": _described(_("Development plan started: %(name)s"),
                               _("Development plan started"), ["name"]),
    "plan.step_done": _described(_("Plan step done: %(action)s"), _("Plan step done"),
                                 ["action"]),
    "plan.closed": _plan_closed,
}


def _fallback(event) -> str:
    """Any other lead.* / opportunity.* / plan.* event: its kind, in words."""
    prefix = event.name.split(".", 1)[0]
    label = {"lead": _("Lead"), "opportunity": _("Opportunity"),
             "plan": _("Development plan")}.get(prefix, prefix)
    name = _name(_payload(event), "name", "title")
    return f"{label}: {name}" if name else str(label)


# --- registration -----------------------------------------------------------------------------
def register() -> None:
    """Register everything above with the customers and core registries (idempotent)."""
    from customers import panels
    from customers.gdpr import register_gdpr_eraser, register_gdpr_exporter
    from customers.merge import register_merge_handler
    from customers.timeline import register_describer

    register_merge_handler("sales.opportunities", _merge_opportunities)
    register_merge_handler("sales.leads", _merge_leads)
    register_merge_handler("sales.orders", _merge_orders)

    register_gdpr_exporter("sales", _gdpr_export)
    register_gdpr_eraser("sales", _gdpr_erase)

    search.register("leads", _("Leads"), _leads_for, order=30)
    search.register("opportunities", _("Opportunities"), _opportunities_for, order=40)
    search.register("orders", _("Orders"), _orders_for, order=50)
    search.register("products", _("Products"), _products_for, order=60)

    panels.register(
        PANEL_KEY, _("Opportunities"), "sales/_customer_opportunities.html",
        context=opportunity_panel_context, order=20,
        visible=lambda user: user.has_perm("sales.view_opportunity"),
    )

    for name, describer in DESCRIBERS.items():
        register_describer(name, describer)
    for pattern in ("lead.*", "opportunity.*", "plan.*"):
        register_describer(pattern, _fallback)
