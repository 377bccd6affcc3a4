"""The feedback list's entry in the top navigation. Call `register()` once at start-up
(ServiceConfig.ready()); idempotent (by key)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def _sees_feedback(user) -> bool:
    return user.has_perm("service.view_feedback")


def register() -> None:
    from crm import navigation

    navigation.register(navigation.NavItem(
        key="feedback", label=_("Feedback"), url_name="service:feedback_list",
        icon="chat-square-heart", order=55, visible=_sees_feedback,
    ))
