"""Speed and isolation overrides for the test suite only; everything else is crm.settings."""

import os

# Tests use their own Redis database and Celery queue, so a running `make dev` is not disturbed
# (and does not consume the tests' tasks). Set before crm.settings reads them.
os.environ.setdefault("CRM_REDIS_DB", "15")
os.environ.setdefault("CELERY_QUEUE", "crm-test")
os.environ.setdefault("CACHE_KEY_PREFIX", "crm-test")

from crm.settings import *  # noqa: E402, F403

# Several test runs may share one server (CRM_TEST_DB names this run's database).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("CRM_TEST_DB", "test_crm")}  # noqa: F405
# Static files come from the finders; nothing is collected for tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The test servers speak plain HTTP whatever DEBUG says.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
