"""Every page of the sales and service modules in a real browser, on the demo data set, at
desktop and phone width, as each kind of user: no server error, no console error (a CSP
violation shows as one), no sideways scrolling. Screenshots land in
test-artifacts/screenshots/ for a person to look at.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_PASSWORD = "demo-password-for-e2e"


@pytest.fixture
def demo(role_groups, pipeline, sla_policies, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    call_command("demo_data", verbosity=0)


def _first(model, **filters):
    return model.objects.filter(**filters).order_by("id").first()


def _a_ticket():
    """A ticket on a customer with orders, made through the service (when the demo has none)."""
    from accounts.models import User
    from customers.models import Customer
    from service.services import ticket_create

    admin = User.objects.get(email="admin@example.com")
    customer = Customer.objects.filter(orders__isnull=False).order_by("id").first()
    return ticket_create(actor=admin, data={
        "subject": "The delivery arrived damaged", "description": "Two boxes were crushed.",
        "customer": customer, "priority": "high"})


def sales_and_service_paths():
    from customers.models import Customer
    from sales.models import DevelopmentPlan, Lead, Opportunity, Order, Product, SalesTarget
    from service.models import Ticket

    lead = _first(Lead, deleted_at__isnull=True, status="qualified")
    opportunity = _first(Opportunity, deleted_at__isnull=True, closed_at__isnull=True)
    order = _first(Order, status="completed")
    draft = _first(Order, status="draft")
    product = _first(Product)
    plan = _first(DevelopmentPlan)
    target = _first(SalesTarget)
    ticket = _first(Ticket, status="in_progress") or _a_ticket()
    customer = Customer.objects.filter(orders__isnull=False, tickets__isnull=False).first()
    paths = [
        reverse("sales:lead_list"),
        reverse("sales:lead_list") + "?status=new&ordering=-score",
        reverse("sales:lead_create"),
        reverse("sales:lead_trash"),
        reverse("sales:lead_rules"),
        reverse("sales:lead_detail", args=[lead.uuid]),
        reverse("sales:lead_edit", args=[lead.uuid]),
        reverse("sales:lead_convert", args=[lead.uuid]),
        reverse("sales:webform_list"),
        reverse("sales:webform_create"),
        reverse("sales:opportunity_list"),
        reverse("sales:opportunity_create"),
        reverse("sales:opportunity_trash"),
        reverse("sales:opportunity_detail", args=[opportunity.uuid]),
        reverse("sales:opportunity_edit", args=[opportunity.uuid]),
        reverse("sales:board"),
        reverse("sales:forecast"),
        reverse("sales:target_list"),
        reverse("sales:target_create"),
        reverse("sales:target_edit", args=[target.uuid]),
        reverse("sales:product_list"),
        reverse("sales:product_low_stock"),
        reverse("sales:product_trash"),
        reverse("sales:product_create"),
        reverse("sales:product_detail", args=[product.uuid]),
        reverse("sales:order_list"),
        reverse("sales:order_create"),
        reverse("sales:order_detail", args=[order.uuid]),
        reverse("service:ticket_list") + "?queue=all",
        reverse("service:ticket_list") + "?queue=breaching",
        reverse("service:ticket_create"),
        reverse("service:ticket_detail", args=[ticket.uuid]),
        reverse("service:ticket_edit", args=[ticket.uuid]),
        reverse("service:feedback_list"),
        reverse("service:feedback_create"),
        reverse("customers:detail", args=[customer.uuid]),
    ]
    if draft:
        paths.append(reverse("sales:order_edit", args=[draft.uuid]))
    if plan:
        paths.append(reverse("sales:plan_detail", args=[plan.uuid]))
    return paths


def visit_all(browser, live_server, email, paths, width, name):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    if email:
        sign_in(page, email, DEMO_PASSWORD)
        page.wait_for_url("**/")
    for path in paths:
        response = page.goto(path)
        assert response.status < 400, f"{path} answered {response.status} for {email}"
        page.wait_for_load_state("networkidle")
        slug = path.strip("/").split("?")[0].replace("/", "-")[:80]
        screenshot(page, f"{name}-{slug}-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{path} scrolls sideways at {width}px ({overflow}px)"
    context.close()
    assert errors == [], errors


@pytest.mark.parametrize("width", [1280, 375])
def test_every_sales_and_service_page_renders_for_an_admin(browser, live_server, demo, width):
    visit_all(browser, live_server, "admin@example.com", sales_and_service_paths(), width,
              "module-admin")


def test_the_main_lists_render_for_a_rep_and_a_manager(browser, live_server, demo):
    lists = [reverse("sales:lead_list"), reverse("sales:opportunity_list"),
             reverse("sales:board"), reverse("sales:forecast"), reverse("sales:order_list"),
             reverse("sales:product_list"), reverse("sales:target_list")]
    visit_all(browser, live_server, "sales@example.com", lists, 1280, "module-rep")
    visit_all(browser, live_server, "manager@example.com", lists, 1280, "module-manager")
    desk = [reverse("service:ticket_list"), reverse("service:ticket_list") + "?queue=unassigned",
            reverse("service:feedback_list")]
    visit_all(browser, live_server, "support@example.com", desk, 375, "module-support")
    visit_all(browser, live_server, "analyst@example.com", lists + desk, 1280, "module-analyst")


@pytest.mark.parametrize("width", [1280, 375])
def test_the_public_pages_render(browser, live_server, demo, width):
    from service.models import Ticket
    from service.signing import survey_token, ticket_token

    ticket = Ticket.objects.filter(status="resolved", satisfaction_score__isnull=True).first()
    visit_all(browser, live_server, None, [
        reverse("sales_public:web_form", args=["contact-us"]),
        reverse("service_public:request"),
        reverse("service_public:ticket", args=[ticket_token(ticket)]),
        reverse("service_public:survey", args=[survey_token(ticket)]),
    ], width, "module-public")
