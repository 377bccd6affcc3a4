"""Settings of the CRM: one file, every value from the environment (see .env.example).

Nothing is production-only: production behaviour follows from DEBUG=0 plus the environment.
A local `.env` (written by `make dev` / `make test`) is read first; real environment
variables always win over it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from crm.env import env_bool, env_int, env_list, env_secret, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
DATA_DIR = Path(env_str("CRM_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-the-environment"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Links in e-mails sent outside a request (reminders, nightly reports) start with this.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "CRM")
# The company currency (ISO 4217): the default of prices, orders, opportunities and targets,
# and the currency the forecast and attainment add up in.
CRM_CURRENCY = env_str("CRM_CURRENCY", "CNY").upper()

INSTALLED_APPS = [
    "crm.apps.CRMAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "guardian",
    "auditlog",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "crm.apps.CoreConfig",
    "accounts",
    "customers",
    "sales",
    "marketing",
    "service",
    "reports",
]

MIDDLEWARE = [
    # First, so the time it reports covers the whole stack.
    "crm.timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # AxesMiddleware must be last: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
# Without DATABASE_URL the project-local PostgreSQL that `make dev` / `make test` start is used.
LOCAL_DB_PASSWORD = env_secret("LOCAL_DB_PASSWORD", "crm")
LOCAL_PG_PORT = env_int("CRM_PG_PORT", 55432)
DATABASE_URL = env_secret(
    "DATABASE_URL", f"postgres://crm:{LOCAL_DB_PASSWORD}@127.0.0.1:{LOCAL_PG_PORT}/crm"
)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Prepared statements are enabled on the connection, yet only a cursor that asks for them
# prepares (psycopg would prepare any other statement after a million runs of it, on a
# cursor binding on the server, and Django's own cursors bind on the client: they never do).
# The one that asks is the signed-in user's query (accounts.backends), so it is planned
# once per connection, not on every request.
# Behind a pooler in transaction mode, that pooler must support protocol-level prepared
# statements (PgBouncer 1.21+, max_prepared_statements); DB_PREPARE_THRESHOLD=0 turns them off.
_prepare_threshold = env_int("DB_PREPARE_THRESHOLD", 1_000_000)
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    _prepare_threshold or None)
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, sessions, Celery broker ----------------------------------------------------
LOCAL_REDIS_PASSWORD = env_secret("LOCAL_REDIS_PASSWORD", "")
LOCAL_REDIS_PORT = env_int("CRM_REDIS_PORT", 56379)
_local_redis_auth = f":{LOCAL_REDIS_PASSWORD}@" if LOCAL_REDIS_PASSWORD else ""
REDIS_URL = env_secret(
    "REDIS_URL",
    f"redis://{_local_redis_auth}127.0.0.1:{LOCAL_REDIS_PORT}/{env_int('CRM_REDIS_DB', 0)}",
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "crm"),
        "TIMEOUT": 300,
    }
}

# --- auth, sessions, login security -----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the user with roles and permissions in one query.
    "accounts.backends.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_HOURS", 24) * 3600
INVITE_TIMEOUT = env_int("INVITE_TIMEOUT_DAYS", 7) * 86400

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A session ends after this many seconds without a request (IdleTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 8 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
# Lock the pair (account name, client address; see TRUSTED_PROXY_COUNT behind a proxy): a
# stranger cannot lock a colleague out from elsewhere, and the page looks the same whether or
# not the account exists. LOGIN_IP_FAILURE_LIMIT also pauses one address guessing many accounts.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "crm.ratelimit.client_ip"
# Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Failed sign-ins from one address, whatever the account, before it is paused too (spraying).
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 30)
# Password-reset e-mails per address and per client address per hour.
PASSWORD_RESET_LIMIT = env_int("PASSWORD_RESET_LIMIT", 5)
# Sign-in records (successes and failures) are kept this long for the audit trail.
LOGIN_LOG_RETENTION_DAYS = env_int("LOGIN_LOG_RETENTION_DAYS", 180)

# Two-factor login (TOTP). When on, Admins must set it up before using the app.
REQUIRE_2FA_FOR_ADMINS = env_bool("REQUIRE_2FA_FOR_ADMINS", not DEBUG)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", SITE_NAME)

# django-guardian: no anonymous user object (every page needs a login).
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- field encryption (crm/crypto.py) ---------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotate by prepending a new key).
FIELD_ENCRYPTION_KEYS = [
    key.strip() for key in (env_secret("FIELD_ENCRYPTION_KEYS") or "").split(",") if key.strip()
]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# --- security headers -------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- static files (whitenoise; third-party files come from node_modules, see package.json) ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/sortablejs", NODE_MODULES / "sortablejs"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"

# --- e-mail -------------------------------------------------------------------------------------
# Django 6.1 mailers; the environment variables keep their familiar EMAIL_* names.
MAILERS = {
    "default": {
        "BACKEND": env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "127.0.0.1"),
            "port": env_int("EMAIL_PORT", 1025),
            "username": env_str("EMAIL_HOST_USER"),
            "password": env_secret("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": env_int("EMAIL_TIMEOUT", 10),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CRM <crm@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_secret("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
# With acks_late a task is redelivered if unacknowledged this long: keep it above the time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "crm")
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "crm.celery:HeartbeatScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Every periodic job is declared in crm/schedules.py.
from crm.schedules import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402, F401

# --- third-party UI ---------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
