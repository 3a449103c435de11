"""Settings read from the environment.

Development (``DEBUG=1``) needs nothing installed: an embedded PostgreSQL under ``var/`` (started by
``./dev``), local-memory cache, Celery's file-system queue under ``var/``. Production (``DEBUG`` off)
refuses to start without ``SECRET_KEY``.
"""

import os
import secrets
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from backoffice import localdb, theme

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # git-ignored: embedded PostgreSQL, Celery queue, uploads
VAR_DIR.mkdir(exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "")
    return value.strip().lower() in {"1", "true", "yes", "on"} if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("BACKOFFICE_TESTING")
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Commands that read only the code (no request, nothing signed) run anywhere, with a throwaway key.
CODE_ONLY_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}
if not SECRET_KEY and sys.argv[1:2] and sys.argv[1] in CODE_ONLY_COMMANDS:
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off, so no "
            "development default is used)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

# Tenants: <subdomain>.<base domain> opens that shop; bare hosts open the default one.
BASE_DOMAIN = os.environ.get("BASE_DOMAIN", "")
TENANT_BASE_DOMAINS = ["localhost", *([BASE_DOMAIN] if BASE_DOMAIN else [])]
# The shop model (the site's table; the kernel's tenancy names it here, as auth does its users).
TENANT_MODEL = "backoffice.Tenant"
DEFAULT_TENANT_SUBDOMAIN = os.environ.get("DEFAULT_TENANT_SUBDOMAIN", "main")
DEFAULT_TENANT_NAME = os.environ.get("DEFAULT_TENANT_NAME", "Main shop")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]") + [
    f".{domain}" for domain in TENANT_BASE_DOMAINS
]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# "Development", "Staging" or "Production": shown as a badge in the admin header.
ENVIRONMENT_NAME = os.environ.get("ENVIRONMENT_NAME") or ("Development" if DEBUG else "Production")

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",  # Unfold without its own site: admin.site is backoffice.admin_site's
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "import_export",
    "simple_history",
    "axes",
    "core",
    "backoffice",
    "imports",
    "inventory",
    "orders",
    "audit",
    "approvals",
    "notifications",
]

MIDDLEWARE = [
    "backoffice.middleware.ResponseTimeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backoffice.outage.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.tenancy.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

DEBUG_TOOLBAR = DEBUG and not TESTING and env_bool("DEBUG_TOOLBAR", True)
if DEBUG_TOOLBAR:
    try:
        import debug_toolbar  # noqa: F401  (a development dependency only)
    except ImportError:
        DEBUG_TOOLBAR = False
if DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(1, "debug_toolbar.middleware.DebugToolbarMiddleware")
    # Collapsed to its handle until opened: expanded, it covered the page (the dashboard's cards).
    DEBUG_TOOLBAR_CONFIG = {"SHOW_COLLAPSED": True}
    INTERNAL_IPS = ["127.0.0.1"]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database: PostgreSQL only ---------------------------------------------------------------------
# Without DATABASE_URL: the embedded server of var/postgres that ./dev starts (backoffice/localdb.py).
LOCAL_DATABASE_URL = localdb.database_url(VAR_DIR / "postgres")
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL names a {DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} database: Backoffice "
        "runs on PostgreSQL only (postgres://user:password@host:port/name). Without DATABASE_URL, ./dev "
        "starts an embedded PostgreSQL in var/postgres."
    )
# A database that hangs (rather than refusing) must not hang every request and /healthz.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASE_OUTAGE_RETRY_AFTER = int(os.environ.get("DATABASE_OUTAGE_RETRY_AFTER", "5"))  # backoffice.outage
DATABASE_RETRY_SECONDS = [float(s) for s in env_list("DATABASE_RETRY_SECONDS") or ["0.1", "1"]]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set, local memory otherwise ------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING or env_bool("FAST_PASSWORD_HASHING"):
    # Tests create many users; a deliberately slow hash would dominate their run time (the browser
    # tests' server reads the users the tests made, so it is told to use the same hasher).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # a login without ?next= lands on the dashboard
# Lock an account+address pair after 5 failures for 15 minutes; the superuser sees and clears
# locks under "Access attempts" in the admin.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Behind reverse proxies (BEHIND_PROXY: one, or TRUSTED_PROXIES=n) the client's address comes from
# X-Forwarded-For; otherwise every login would come from the proxy and one lock-out would lock all.
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES") or (1 if env_bool("BEHIND_PROXY") else 0))
AXES_CLIENT_IP_CALLABLE = "backoffice.middleware.client_ip_address"

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English")]  # one: Unfold's user menu would look up Django's ~100 on every page
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or VAR_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
# Public uploads (product images), served at MEDIA_URL by the web server in front of the app.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or VAR_DIR / "media")
# Import files: never served by URL (imports.uploads). Celery workers on other machines need it shared.
PRIVATE_FILES_ROOT = Path(os.environ.get("PRIVATE_FILES_ROOT") or VAR_DIR / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "imports.uploads.PrivateFileStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Behind TLS in production; a deployment on plain HTTP (the browser tests) turns these off.
HTTPS = env_bool("HTTPS", not DEBUG and not TESTING)
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe the health check over plain HTTP, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Unfold's Alpine.js evaluates expressions (needs 'unsafe-eval') and sets inline styles; no inline
# scripts are allowed anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.UNSAFE_EVAL],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "https:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Logging: readable in development, one JSON object per line in production --------------------
LOG_JSON = env_bool("LOG_JSON", not DEBUG and not TESTING)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "readable": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_JSON else "readable"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
SLOW_REQUEST_SECONDS = float(os.environ.get("SLOW_REQUEST_SECONDS", "1.0"))
# /healthz's details (which check failed and why) for staff and these addresses or networks.
HEALTHZ_DETAIL_IPS = env_list("HEALTHZ_DETAIL_IPS")

# --- Audit trail ----------------------------------------------------------------------------------
AUDIT_SEAL_SECONDS = float(os.environ.get("AUDIT_SEAL_SECONDS", "60"))
AUDIT_VERIFY_SECONDS = float(os.environ.get("AUDIT_VERIFY_SECONDS", "600"))
# Each new seal is also appended here (JSON lines), outside the database: a write-once store, another
# machine's disk or a mounted bucket, so that a rewrite of the whole chain is still caught.
AUDIT_SEAL_PUBLISH_PATH = os.environ.get("AUDIT_SEAL_PUBLISH_PATH", "")

# --- Celery ---------------------------------------------------------------------------------------
# Redis at scale; with no broker configured, Celery's file-system transport under var/ (no server).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    CELERY_QUEUE_DIR = Path(os.environ.get("CELERY_QUEUE_DIR", VAR_DIR / "celery"))
    # Producer and consumer share one folder: the transport reads what it writes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "messages"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "messages"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),  # else "control/" in the working directory
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With `celery -A backoffice beat` running: imports whose worker died are marked failed within a minute.
CELERY_BEAT_SCHEDULE = {
    "fail-stale-import-jobs": {"task": "inventory.fail_stale_import_jobs", "schedule": 60.0},
    # Payments cut off between our steps (a crash, a provider that didn't answer) are settled through
    # the provider's look-up by idempotency key.
    "resolve-pending-payments": {"task": "orders.resolve_pending_payments", "schedule": 60.0},
    # The audit trail: new entries sealed every minute, every shop's chain verified every 10 minutes.
    "seal-audit-trails": {"task": "audit.seal_trails", "schedule": AUDIT_SEAL_SECONDS},
    "verify-audit-trails": {"task": "audit.verify_trails", "schedule": AUDIT_VERIFY_SECONDS},
    # E-mails whose task was lost (the broker was down when they were recorded) go to a worker again.
    "resume-waiting-e-mails": {"task": "notifications.resume_waiting_messages", "schedule": 300.0},
    # The dashboard's summary tables: a minute's delta rows folded into one row per key.
    "fold-summaries": {"task": "core.fold_summaries", "schedule": 60.0},
}

# --- E-mail ---------------------------------------------------------------------------------------
# Development and the demo keep every e-mail in the outbox (E-mail -> Outbox in the admin) instead of
# sending it. Production sends through the "default" mailer: SMTP configured from EMAIL_HOST and the
# other EMAIL_* variables, or a provider's backend named by EMAIL_BACKEND (django-anymail's, say).
EMAIL_KEEP = env_bool("EMAIL_KEEP", DEBUG)
MAILERS = {
    "default": {
        "BACKEND": os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS"),  # STARTTLS, usually on port 587
            "use_ssl": env_bool("EMAIL_USE_SSL"),  # TLS from the start, usually on port 465
            "timeout": float(os.environ.get("EMAIL_TIMEOUT", "20")),  # a hung server frees the worker
        },
    }
}
if MAILERS["default"]["BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {}  # SMTP's options mean nothing to a provider's backend
# The address every shop's e-mails come from; each shop sets its own sender name and reply-to address.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A mail server that fails is tried again after EMAIL_RETRY_SECONDS, doubled each time up to
# EMAIL_RETRY_MAX_SECONDS, EMAIL_MAX_ATTEMPTS times in all (30 s .. 1 h, 8 attempts: about 2 hours).
EMAIL_RETRY_SECONDS = float(os.environ.get("EMAIL_RETRY_SECONDS", "30"))
EMAIL_RETRY_MAX_SECONDS = float(os.environ.get("EMAIL_RETRY_MAX_SECONDS", "3600"))
EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", "8"))
# Links in e-mails to staff (an import job's page): the default shop's address; other shops are at
# their subdomain of it (or of BASE_DOMAIN).
BACKOFFICE_URL = os.environ.get("BACKOFFICE_URL", "http://localhost:8000").rstrip("/")

# --- Business settings ----------------------------------------------------------------------------
ORDER_TAX_RATE = Decimal(os.environ.get("ORDER_TAX_RATE", "0.08"))
ORDER_CURRENCY = os.environ.get("ORDER_CURRENCY", "USD")
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "orders.payments.FakePaymentGateway")
# A payment still pending after this long is settled by asking the provider (longer than any request
# to it can take, so a request still on its way is never counted as lost).
PAYMENT_PENDING_SECONDS = int(os.environ.get("PAYMENT_PENDING_SECONDS", "120"))
IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", "2000"))
# A running import whose worker sent no heartbeat for this long is marked failed (it can be retried).
IMPORT_STALE_SECONDS = int(os.environ.get("IMPORT_STALE_SECONDS", "120"))
IMPORT_BATCH_ROWS = int(os.environ.get("IMPORT_BATCH_ROWS", "2000"))  # rows per batch (and transaction)
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "60"))

# --- Admin ----------------------------------------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True  # reasons name files and orders: no cut-off
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True  # CSV and XLSX cells starting = + - @ (core.formats)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

UNFOLD = theme.UNFOLD  # the admin's look, login form, search and navigation
