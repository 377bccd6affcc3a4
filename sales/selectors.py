"""Reads of sales records: the access path every view, search, export, report and task uses.
`<entity>_list_for_user` gives what the user may see; `<entity>_get_for_user` gives one
record, or 404 when it is not visible, or 403 when it is visible but `action` is not allowed."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import connections
from django.db.models import Q, QuerySet, Value
from django.http import Http404

from crm.pagination import COUNT_CAP, capped_count
from sales.models import (
    DevelopmentPlan,
    Lead,
    Opportunity,
    Order,
    PipelineRollup,
    PipelineStage,
    Product,
    SalesTarget,
)
from sales.permissions import sales_policy_for


def _active(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


def _visible(user, qs: QuerySet, model_name: str, prefix: str = "") -> QuerySet:
    if not _active(user) or not user.has_perm(f"sales.view_{model_name}"):
        return qs.none()
    q = sales_policy_for(user).visible_q(model_name, prefix)
    return qs if q is None else qs.filter(q)


def _get(qs: QuerySet, uuid):
    try:
        return qs.get(uuid=uuid)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def _check(user, action: str, obj, model_name: str):
    if action != "view" and not sales_policy_for(user).can(action, obj, model_name):
        raise PermissionDenied
    return obj


# --- capped counts of the visible set ---------------------------------------------------------
def visible_branches(user, model_name: str) -> list[Q] | None:
    """The visible records of `model_name` (the same set as SalesPolicy.visible_q) as DISJOINT
    filters, each of which one index answers alone: None when every record is visible, [] when
    none is. The team branch comes first: its partial index (team_id, created_at, id) counts
    by an index-only scan, which an OR of owner and team filters never gets (that one reads
    the table)."""
    if not _active(user) or not user.has_perm(f"sales.view_{model_name}"):
        return []
    policy = sales_policy_for(user)
    if policy.sees_all(model_name):
        return None
    reach = policy.reach
    teams = sorted({*reach.team_ids, *reach.managed_team_ids})
    owners = {user.pk}
    if reach.managed_team_ids:
        owners |= set(reach.managed_member_ids)
    branches = []
    owned = Q(owner_id__in=sorted(owners))
    if teams:
        branches.append(Q(team_id__in=teams))
        owned &= Q(team__isnull=True) | ~Q(team_id__in=teams)
    branches.append(owned)
    if reach.managed_team_ids and model_name == "lead":
        branches.append(Q(owner__isnull=True, team__isnull=True))
    return branches


def capped_count_of_branches(queryset: QuerySet, branches: list[Q] | None,
                             cap: int = COUNT_CAP) -> tuple[int, bool]:
    """crm.pagination.capped_count of the union of `queryset` filtered by each of the disjoint
    `branches` (None: the queryset as is): one query, a UNION ALL of per-branch LIMITed
    subqueries under one LIMIT, so it stops as soon as `cap` + 1 rows are found."""
    if branches is None:
        return capped_count(queryset, cap)
    parts, params = [], []
    for branch in branches:
        # A constant, not the pk: a branch on an index without the pk (team_id IS NULL on
        # the plain foreign-key index) stays an index-only scan.
        sub = (queryset.filter(branch).order_by().annotate(one_=Value(1)).values("one_")
               [: cap + 1])
        try:
            sql, sub_params = sub.query.get_compiler(using=queryset.db).as_sql()
        except EmptyResultSet:
            continue
        parts.append(f"({sql})")
        params.extend(sub_params)
    if not parts:
        return 0, False
    with connections[queryset.db].cursor() as cursor:
        # Only compiled subqueries and placeholders are joined: every value is a parameter.
        # Each branch as a derived table: "(SELECT ... LIMIT n) LIMIT n" alone is refused.
        union = " UNION ALL ".join(f"SELECT 1 FROM {part} AS branch{i}_"  # noqa: S608
                                   for i, part in enumerate(parts))
        sql = f"SELECT COUNT(*) FROM ({union} LIMIT %s) AS rows_"  # noqa: S608
        cursor.execute(sql, [*params, cap + 1])
        n = cursor.fetchone()[0]
    return (cap, True) if n > cap else (n, False)


def filtered_count_for_user(user, filterset, base: QuerySet, model_name: str
                            ) -> tuple[int, bool]:
    """The capped count of a list page: `filterset`'s filters applied to `base` (the alive
    records, unrestricted) and the visible set as index-friendly branches."""
    qs = base.all()
    if filterset.is_bound:
        filterset.errors  # noqa: B018 (validate once)
        qs = filterset.filter_queryset(qs)
    return capped_count_of_branches(qs, visible_branches(user, model_name))


# --- leads --------------------------------------------------------------------------------------
def lead_list_for_user(user, *, deleted: bool = False) -> QuerySet[Lead]:
    base = Lead.objects.deleted() if deleted else Lead.objects.alive()
    return _visible(user, base, "lead").select_related(
        "owner", "team", "source", "region", "industry")


def lead_get_for_user(user, uuid, action: str = "view", *, deleted: bool = False) -> Lead:
    return _check(user, action, _get(lead_list_for_user(user, deleted=deleted), uuid), "lead")


# --- opportunities ------------------------------------------------------------------------------
def opportunity_list_for_user(user, *, deleted: bool = False) -> QuerySet[Opportunity]:
    base = Opportunity.objects.deleted() if deleted else Opportunity.objects.alive()
    return _visible(user, base, "opportunity").select_related(
        "customer", "owner", "team", "stage")


def opportunity_get_for_user(user, uuid, action: str = "view", *,
                             deleted: bool = False) -> Opportunity:
    opportunity = _get(opportunity_list_for_user(user, deleted=deleted), uuid)
    return _check(user, action, opportunity, "opportunity")


def pipeline_rollup_for_user(user) -> QuerySet[PipelineRollup]:
    """The rollup rows (sales.models.PipelineRollup) of the opportunities `user` may see: the
    same owner and team filter as opportunity_list_for_user, on the rollup's own owner and
    team columns. Its sums are of live opportunities, every stage (filter on stage__)."""
    return _visible(user, PipelineRollup.objects.all(), "opportunity")


def stage_list() -> QuerySet[PipelineStage]:
    return PipelineStage.objects.filter(is_active=True).order_by("order", "id")


# --- development plans (through their opportunity) -------------------------------------------
def plan_list_for_user(user) -> QuerySet[DevelopmentPlan]:
    base = DevelopmentPlan.objects.filter(opportunity__deleted_at__isnull=True)
    if not user.has_perm("sales.view_developmentplan"):
        return base.none()
    return _visible(user, base, "opportunity", prefix="opportunity__").select_related(
        "opportunity", "opportunity__customer", "opportunity__owner")


def plan_get_for_user(user, uuid, action: str = "view") -> DevelopmentPlan:
    plan = _get(plan_list_for_user(user), uuid)
    if action != "view" and not sales_policy_for(user).can("change", plan.opportunity,
                                                            "opportunity"):
        raise PermissionDenied
    if action != "view" and not user.has_perm(f"sales.{action}_developmentplan"):
        raise PermissionDenied
    return plan


# --- orders -------------------------------------------------------------------------------------
def order_list_for_user(user, *, deleted: bool = False) -> QuerySet[Order]:
    base = Order.objects.deleted() if deleted else Order.objects.alive()
    return _visible(user, base, "order").select_related("customer", "owner", "team")


def order_get_for_user(user, uuid, action: str = "view", *, deleted: bool = False) -> Order:
    return _check(user, action, _get(order_list_for_user(user, deleted=deleted), uuid), "order")


# --- products -----------------------------------------------------------------------------------
def product_list_for_user(user, *, deleted: bool = False) -> QuerySet[Product]:
    base = Product.objects.deleted() if deleted else Product.objects.alive()
    if not _active(user) or not user.has_perm("sales.view_product"):
        return base.none()
    return base


def product_get_for_user(user, uuid, action: str = "view", *, deleted: bool = False) -> Product:
    product = _get(product_list_for_user(user, deleted=deleted), uuid)
    codename = "sales.adjust_stock" if action == "adjust" else f"sales.{action}_product"
    if action != "view" and not user.has_perm(codename):
        raise PermissionDenied
    return product


# --- targets ------------------------------------------------------------------------------------
def target_list_for_user(user) -> QuerySet[SalesTarget]:
    """Targets of the users and teams the user may see: their own, their teams', the teams
    they manage and those teams' members; all for Admins and Analysts."""
    base = SalesTarget.objects.select_related("user", "team")
    if not _active(user) or not user.has_perm("sales.view_salestarget"):
        return base.none()
    policy = sales_policy_for(user)
    if policy.sees_all("salestarget"):
        return base
    from django.db.models import Q

    reach = policy.reach
    teams = [*reach.team_ids, *reach.managed_team_ids]
    q = Q(user=user) | Q(team_id__in=teams)
    if reach.managed_member_ids:
        q |= Q(user_id__in=reach.managed_member_ids)
    return base.filter(q)


def target_get_for_user(user, uuid, action: str = "view") -> SalesTarget:
    target = _get(target_list_for_user(user), uuid)
    if action != "view":
        if not user.has_perm(f"sales.{action}_salestarget"):
            raise PermissionDenied
        reach = sales_policy_for(user).reach
        if not (user.is_admin or target.team_id in reach.managed_team_ids
                or target.user_id in reach.managed_member_ids):
            raise PermissionDenied
    return target
