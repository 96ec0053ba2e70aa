"""SafeUnit settings: one module, read from the environment (see README "Configuration").

Defaults serve local development on the embedded stack started by `make run`; production sets
DEBUG=false, SECRET_KEY, SITE_URL (https), DATABASE_URL and CELERY_BROKER_URL.
"""

from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

from config.env import env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SAFEUNIT_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-local-development-only")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "SafeUnit"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

# Served over HTTPS: everything that protects cookies and transport follows from SITE_URL.
HTTPS = SITE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, no CDN
    "guardian",
    "django_htmx",
    "template_partials",
    "accounts",
    "units",
    "marketplace",
    "billing",
    "devices",
    "alerts",
    "oversight",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentOrganisationMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.organisations",
            ],
        },
    }
]

DATABASES = {
    # Default: the embedded server that `make run` / `make test` start in DATA_DIR.
    "default": env_database(
        "DATABASE_URL", f"postgres://postgres@/safeunit?host={DATA_DIR / 'postgres'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
# Off by default: the check is a `SELECT 1` round trip before every request's first query,
# a third of a single-event ingest request's time. A connection that broke fails one request,
# after which Django closes it (devices retry; pages are reloaded).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_CONN_HEALTH_CHECKS", False)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600
INVITATION_VALID_DAYS = env_int("INVITATION_VALID_DAYS", 7)

# Guardian: no anonymous user row; permissions on tenant roots use direct-FK tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"  # shown in Shanghai time; stored in UTC (USE_TZ)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed from the npm registry by `make` (package.json); served by us, never by a CDN.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SafeUnit <noreply@safeunit.local>")

# Celery. Without CELERY_BROKER_URL the broker is kombu's filesystem transport in DATA_DIR,
# which needs no server; production points this at Redis or RabbitMQ.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_folder = Path(env_str("CELERY_BROKER_FOLDER", str(DATA_DIR / "broker")))
    for _folder in ("queue", "processed", "control"):
        (_broker_folder / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "processed_folder": str(_broker_folder / "processed"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
        # The folder is polled (1 s by default): an alarm passes it twice on its way out.
        "polling_interval": 0.1,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_DEFAULT_QUEUE = "default"
# Life-safety work goes to its own queue so it is never waiting behind bulk work.
CELERY_TASK_ROUTES = {"alerts.*": {"queue": "alerts"}}
# Declared so that every worker (and the tests' worker) consumes both by default.
CELERY_TASK_QUEUES = [
    Queue("alerts", Exchange("alerts"), routing_key="alerts"),
    Queue("default", Exchange("default"), routing_key="default"),
]
CELERY_BEAT_SCHEDULE = {
    # Alerts: the passes that make a lost wake-up or a dead worker cost seconds, not alarms.
    "alerts-events": {"task": "alerts.tasks.events_process", "schedule": 5.0},
    "alerts-escalations": {"task": "alerts.tasks.escalations_run", "schedule": 5.0},
    "alerts-notifications-retry": {"task": "alerts.tasks.notifications_retry", "schedule": 10.0},
    "alerts-thresholds": {"task": "alerts.tasks.thresholds_evaluate", "schedule": 10.0},
    "alerts-health": {"task": "alerts.tasks.health_sweep", "schedule": 15.0},
    "expire-certificates": {
        "task": "marketplace.tasks.certificates_expire",
        "schedule": crontab(minute=5, hour=0),  # just after midnight, Shanghai time
    },
    "billing-reconcile-payments": {
        # A lost webhook delays a payment's confirmation by a minute at most.
        "task": "billing.tasks.payments_reconcile",
        "schedule": 60.0,
    },
    "billing-dunning": {
        "task": "billing.tasks.dunning_sweep",
        "schedule": crontab(minute=20),
    },
    "billing-lease-terms": {
        "task": "billing.tasks.leases_roll",
        "schedule": crontab(minute=10, hour=0),
    },
    "telemetry-partitions": {
        "task": "devices.tasks.telemetry_partitions_maintain",
        "schedule": crontab(minute=30, hour="*/6"),
    },
    # Coverage follows purchases and onboarding within a minute (a few seconds' work for
    # 100k units).
    "oversight-coverage": {"task": "oversight.tasks.coverage_refresh", "schedule": 60.0},
    # Dashboards' roll-ups: today's alerts and devices every five minutes, 100 days nightly.
    "oversight-rollups-recent": {
        "task": "oversight.tasks.rollups_refresh_recent",
        "schedule": 300.0,
    },
    "oversight-rollups-nightly": {
        "task": "oversight.tasks.rollups_refresh_nightly",
        "schedule": crontab(minute=40, hour=0),
    },
    "oversight-programme-reminders": {
        "task": "oversight.tasks.programmes_remind",
        "schedule": crontab(minute=0, hour=9),  # in the morning, after the night's refreshes
    },
    "purge-expired-invitations": {
        "task": "accounts.tasks.invitations_purge_expired",
        "schedule": crontab(minute=17, hour=3),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# Stripe. The defaults talk to the real Stripe; `make run` and `make test` start localstripe
# on a free loopback port and set STRIPE_API_BASE (and a webhook secret of their own).
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "sk_test_safeunit_local")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "pk_test_safeunit_local")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# Stripe.js: localstripe serves its stand-in at <base>/js.stripe.com/v3/.
STRIPE_JS_URL = env_str(
    "STRIPE_JS_URL",
    "https://js.stripe.com/v3/"
    if STRIPE_API_BASE == "https://api.stripe.com"
    else f"{STRIPE_API_BASE}/js.stripe.com/v3/",
)
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "whsec_safeunit_local")
STRIPE_WEBHOOK_TOLERANCE_S = 300
# Offered on PaymentIntents; add alipay and wechat_pay where the Stripe account supports them.
STRIPE_PAYMENT_METHOD_TYPES = env_list("STRIPE_PAYMENT_METHOD_TYPES", ["card"])
# Destination charges to vendors' connected accounts (localstripe has no Connect).
STRIPE_CONNECT_ENABLED = env_bool("STRIPE_CONNECT_ENABLED", False)
PLATFORM_COMMISSION_BPS = env_int("PLATFORM_COMMISSION_BPS", 500)  # 5 %, in basis points
LEASE_DUNNING_GRACE_DAYS = env_int("LEASE_DUNNING_GRACE_DAYS", 14)
MONITORING_DUNNING_GRACE_DAYS = env_int("MONITORING_DUNNING_GRACE_DAYS", 7)
LEASE_ENDING_NOTICE_DAYS = env_int("LEASE_ENDING_NOTICE_DAYS", 30)

# Devices and ingest (DESIGN §7).
TELEMETRY_RETENTION_DAYS = env_int("TELEMETRY_RETENTION_DAYS", 90)
TELEMETRY_PARTITIONS_AHEAD_DAYS = 7
INGEST_MAX_EVENTS = 500
INGEST_MAX_BYTES = 256 * 1024
INGEST_MAX_FUTURE_S = 300
# The Celery task (by name) that ingest wakes after committing events to the outbox: the
# alerts layer's processor (devices never imports alerts). Empty: nobody is woken and the
# processor's beat pass finds them within seconds.
DEVICE_EVENTS_WAKE_TASK = env_str("DEVICE_EVENTS_WAKE_TASK", "alerts.tasks.events_process")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "1200/min"},
    # Services raise Django's ValidationError / PermissionDenied: answered 400 / 403 here.
    "EXCEPTION_HANDLER": "accounts.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SafeUnit API",
    "DESCRIPTION": (
        "SafeUnit's REST API: organisations, members and API tokens; units, contacts and"
        " responders; the marketplace (catalogue, standards, reviews, certificates, vendors'"
        " device models and solutions); orders, payments, leases, invoices, monitoring and"
        " settlements; devices and their telemetry; alerts, escalation policies and the duty"
        " console; oversight programmes and regions. People authenticate with a personal API"
        " token; devices post to the ingest endpoints (tag `ingest`) with their own token."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False},
    # Several models have a "kind": each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "accounts.models.Organisation.Kind",
        "UnitKindEnum": "units.models.Unit.Kind",
        "ResponderKindEnum": "units.models.Responder.Kind",
        "RoleEnum": "accounts.models.Membership.Role",
        "RevisionStatusEnum": "marketplace.models.SolutionRevision.Status",
        "StandardStatusEnum": "marketplace.models.ReferenceStandard.Status",
        "RequirementKindEnum": "marketplace.models.Requirement.Kind",
        "TierEnum": "marketplace.models.Tier",
        "AcquisitionModeEnum": "marketplace.models.AcquisitionMode",
        "OrderStatusEnum": "billing.models.Order.Status",
        "PaymentStatusEnum": "billing.models.Payment.Status",
        "PaymentKindEnum": "billing.models.Payment.Kind",
        "LeaseStatusEnum": "billing.models.Lease.Status",
        "LeaseChoiceEnum": "billing.models.Lease.Choice",
        "MonitoringStatusEnum": "billing.models.MonitoringSubscription.Status",
        "InvoiceStatusEnum": "billing.models.Invoice.Status",
        "LedgerKindEnum": "billing.models.LedgerEntry.Kind",
        "AlertKindEnum": "alerts.models.Kind",
        "AlertStatusEnum": "alerts.models.Alert.Status",
        "AlertOutcomeEnum": "alerts.models.Alert.Outcome",
        "ResolveOutcomeEnum": "alerts.serializers.PERSON_OUTCOME_CHOICES",
        "NotificationStatusEnum": "alerts.models.Notification.Status",
        "IngestEventTypeEnum": "devices.openapi.EVENT_TYPE_CHOICES",
        "IngestResultEnum": "devices.openapi.RESULT_CHOICES",
        "IngestEventErrorEnum": "devices.openapi.EVENT_ERROR_CHOICES",
        "IngestErrorEnum": "devices.openapi.REQUEST_ERROR_CHOICES",
    },
    # The ingest endpoints are plain Django views: devices.openapi adds their contract, before
    # drf-spectacular's own hook, which gives every choice set one named enum.
    "POSTPROCESSING_HOOKS": [
        "devices.openapi.ingest_paths",
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Alerts (DESIGN §3.4–3.5).
ALERT_LOW_BATTERY_PCT = 15  # also in the partial index of the battery sweep (devices migration)
ALERT_LINK_MAX_AGE_S = env_int("ALERT_LINK_MAX_AGE_S", 24 * 3600)
# Delivery (alerts.services.delivery): a notification is tried this many times, with backoff,
# before it is given up ("dead", shown at /ops/notifications/).
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
# SMS (alerts.sms): "console" logs each message (demo); "http" POSTs to the provider.
SMS_BACKEND = env_str("SMS_BACKEND", "console")
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT_S = env_int("SMS_HTTP_TIMEOUT_S", 5)
if SMS_BACKEND not in ("console", "http"):
    raise ImproperlyConfigured(f"SMS_BACKEND must be console or http, not {SMS_BACKEND!r}")
if SMS_BACKEND == "http" and not SMS_HTTP_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("SMS_BACKEND=http needs SMS_HTTP_URL (http:// or https://)")
WEBHOOK_TIMEOUT_S = env_int("WEBHOOK_TIMEOUT_S", 5)
# Bounds an SMTP conversation, so that a send never outlives its claim on the notification.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
