"""The authentication backend: Django's ModelBackend, loading the signed-in user with their
roles and permissions in one query.

Every page reads all three: the navigation and the access policies ask for roles and
permissions. With ModelBackend they cost three more queries per request after the user's own
(roles, user permissions, group permissions); here they come as arrays on the user's row.

That query runs on every request, always the same but for the user's id: it is built by the
ORM once per process and runs as a prepared statement, so PostgreSQL plans it once per
connection (planning was most of its cost: ~0.7 ms of its ~0.9 ms) and Python compiles it
once. What it loads is still read fresh on every request.
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import router
from django.db.models import F, OuterRef, Value
from django.db.models.functions import Concat

from crm.prepared import prepared_cursor


def _perm_names(queryset):
    """'app_label.codename' of each permission, as ModelBackend names them."""
    return queryset.order_by().values(
        perm=Concat(F("content_type__app_label"), Value("."), F("codename")))


def _user_queryset(user_id):
    return get_user_model()._default_manager.filter(pk=user_id).order_by().annotate(
        _role_names=ArraySubquery(
            Group.objects.filter(user=OuterRef("pk")).order_by().values("name")),
        _user_perm_names=ArraySubquery(
            _perm_names(Permission.objects.filter(user=OuterRef("pk")))),
        _group_perm_names=ArraySubquery(
            _perm_names(Permission.objects.filter(group__user=OuterRef("pk")))),
    )[:1]


@functools.cache
def _compiled(alias: str) -> tuple[str, list[str], list[str], int, tuple]:
    """(the SQL, the model's attribute names of its first columns, the annotations' names of
    the columns after them, the position of the user's id among its parameters, the
    parameters): compiled once per process and database."""
    marker = -987_654_321  # an id no user has, to find the id among the parameters
    query = _user_queryset(marker).query
    sql, params = query.get_compiler(using=alias).as_sql()
    fields = [f.attname for f in get_user_model()._meta.concrete_fields]
    return sql, fields, list(query.annotation_select), list(params).index(marker), tuple(params)


def _load_user(user_id):
    """The user with the three arrays, or None: one prepared statement."""
    user_model = get_user_model()
    alias = router.db_for_read(user_model)
    sql, fields, annotations, at, params = _compiled(alias)
    params = list(params)
    params[at] = int(user_id)
    with prepared_cursor(alias) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    user = user_model.from_db(alias, fields, row[:len(fields)])
    for name, value in zip(annotations, row[len(fields):], strict=True):
        setattr(user, name, value)
    return user


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = _load_user(user_id)
        except (TypeError, ValueError):  # not an id (a tampered or foreign session)
            return None
        if user is None or not self.user_can_authenticate(user):
            return None
        # The caches ModelBackend and User.role_names fill on first use, filled now. A
        # superuser holds every permission: ModelBackend loads those itself, when asked.
        user.__dict__["role_names"] = frozenset(user._role_names)
        if not user.is_superuser:
            user._user_perm_cache = set(user._user_perm_names)
            user._group_perm_cache = set(user._group_perm_names)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        return user
