"""The lead score: the sum of the points of every active LeadScoreRule the lead matches, kept
with a breakdown rule by rule ([{"rule": label, "points": n}, ...]) so people see why."""

from __future__ import annotations

from collections.abc import Sequence

from sales.models import Lead, LeadScoreRule

DICTIONARY_FIELDS = {"source", "region", "industry"}


def active_score_rules() -> list[LeadScoreRule]:
    """All active rules in one query (score many leads with the same list)."""
    return list(LeadScoreRule.objects.filter(is_active=True).order_by("order", "id"))


def _text(value) -> str:
    return str(value or "").strip().casefold()


def rule_matches(rule: LeadScoreRule, lead: Lead) -> bool:
    wanted = _text(rule.value)
    if rule.field in DICTIONARY_FIELDS:
        if getattr(lead, f"{rule.field}_id") is None:
            return False
        entry = getattr(lead, rule.field)
        if rule.operator == LeadScoreRule.Operator.IS_SET:
            return True
        candidates = [_text(entry.code), _text(entry.label)]
        if rule.operator == LeadScoreRule.Operator.EQUALS:
            return wanted in candidates
        return bool(wanted) and any(wanted in c for c in candidates)
    value = getattr(lead, rule.field, None)
    if rule.field == LeadScoreRule.Field.CONSENT:
        if rule.operator == LeadScoreRule.Operator.IS_SET:
            return bool(value)
        return bool(value) == (wanted in {"1", "true", "yes", "y", "on"})
    text = _text(value)
    if rule.operator == LeadScoreRule.Operator.IS_SET:
        return bool(text)
    if rule.operator == LeadScoreRule.Operator.EQUALS:
        return text == wanted
    return bool(wanted) and wanted in text


def score_lead(lead: Lead, rules: Sequence[LeadScoreRule] | None = None
               ) -> tuple[int, list[dict]]:
    """(score, breakdown) of `lead` under the active rules (loaded once when not given)."""
    if rules is None:
        rules = active_score_rules()
    breakdown = [{"rule": rule.label, "points": rule.points}
                 for rule in rules if rule_matches(rule, lead)]
    return sum(item["points"] for item in breakdown), breakdown
