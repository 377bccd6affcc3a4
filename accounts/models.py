from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts import roles
from crm.models import BaseModel


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email(email))

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_superuser", False)
        extra.setdefault("is_staff", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_superuser"] = True
        extra["is_staff"] = True
        user = self._create(email, password, **extra)
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=roles.ADMIN))
        return user


class User(BaseModel, AbstractUser):
    """A member of staff. Signs in with the e-mail address; roles are Groups."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    invited_at = models.DateTimeField(_("invited"), null=True, blank=True)
    invited_by = models.ForeignKey(
        "self", verbose_name=_("invited by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    # Bumped to end every session of the user at once (deactivation, two-factor reset).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["first_name", "last_name", "email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="user_email_lowercase"
            ),
        ]
        indexes = [models.Index(fields=["last_name", "first_name"], name="user_name")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def _get_session_auth_hash(self, secret=None):
        """Sessions carry this hash; it changes with the password and with session_epoch."""
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @cached_property
    def role_names(self) -> frozenset[str]:
        """The user's roles; one query, cached for the request."""
        return frozenset(self.groups.values_list("name", flat=True))

    def has_perm(self, perm, obj=None) -> bool:
        # The Admin role holds every permission (accounts/roles.py): answer without loading
        # the permission tables, which every page's navigation would otherwise pay for.
        if obj is None and self.is_active and self.is_admin:
            return True
        return super().has_perm(perm, obj)

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.is_superuser or roles.ADMIN in self.role_names)

    def has_role(self, *names: str) -> bool:
        return self.is_superuser or bool(self.role_names.intersection(names))

    @property
    def invitation_pending(self) -> bool:
        return self.invited_at is not None and not self.has_usable_password()


class Team(BaseModel):
    """A group of users with a manager; record visibility follows teams."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="managed_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
