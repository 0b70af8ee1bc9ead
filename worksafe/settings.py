"""WorkSafe Fujian settings: one module, driven by the environment (.env.example lists every variable)."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("WORKSAFE_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value == "True"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read NAME_FILE first (container secrets), then NAME."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("WORKSAFE_DEV") != "True":
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (set WORKSAFE_DEV=True to try it)")
    SECRET_KEY = "dev-only-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
AUDIT_HMAC_KEY = env_secret("AUDIT_HMAC_KEY", SECRET_KEY)

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",
    "worksafe.core",
    "worksafe.enterprises",
    "worksafe.majorhazards",
    "worksafe.risks",
    "worksafe.hazards",
    "worksafe.checks",
    "worksafe.monitoring",
    "worksafe.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "worksafe.core.middleware.RequestIdMiddleware",
    "worksafe.core.middleware.SessionMiddleware",  # Django's, but background polls don't extend the session
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "worksafe.core.middleware.SecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "worksafe.urls"
ASGI_APPLICATION = "worksafe.asgi.application"
WSGI_APPLICATION = "worksafe.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "worksafe.core.navigation.menu",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",

            ],
        },
    }
]

# Storage: DATABASE_URL selects PostgreSQL; without it, SQLite under var/.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'worksafe.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "core:login"

# 等保 8.1.4.1 a (DB-IA-1): length, three character classes, history, expiry.
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 8)
PASSWORD_HISTORY = env_int("PASSWORD_HISTORY", 5)
PASSWORD_MAX_AGE_DAYS = env_int("PASSWORD_MAX_AGE_DAYS", 90)  # 0 disables expiry
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "worksafe.core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "worksafe.core.passwords.HistoryValidator"},
]

# DB-IA-2: lockout after repeated failures (django-axes), per username.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # lock a name, and throttle a source
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Idle timeout: a session expires SESSION_IDLE_MINUTES after the last request.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 8)
# Administrators and regulators time out sooner (等保 DB-IA-2 proposal: 15 min).
SESSION_IDLE_MINUTES_PRIVILEGED = env_int("SESSION_IDLE_MINUTES_PRIVILEGED", 15)
PRIVILEGED_ROLES = ["system_admin", "security_admin", "audit_admin", "regulator_staff", "regulator_leader",
                    "industry_staff", "inspector", "commander"]
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# TOTP second factor: available to everyone; required for these roles (comma separated).
# Development mode (WORKSAFE_DEV=True, `make run`) requires it of nobody so that the demo can be tried at once.
_OTP_DEFAULT = "system_admin,security_admin,audit_admin,regulator_staff,regulator_leader,industry_staff,inspector"
OTP_REQUIRED_ROLES = [
    r for r in os.environ.get("OTP_REQUIRED_ROLES", "" if os.environ.get("WORKSAFE_DEV") == "True" else _OTP_DEFAULT)
    .split(",") if r
]
OTP_TOTP_ISSUER = "WorkSafe Fujian"

# Secure headers; production (DEBUG off, not WORKSAFE_DEV) gets the HTTPS set, so check --deploy is clean.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = False
HTTPS = env_bool("HTTPS", not DEBUG and os.environ.get("WORKSAFE_DEV") != "True")
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Excel imports: files with more rows than this run in the background with a progress bar.
IMPORT_BACKGROUND_ROWS = env_int("IMPORT_BACKGROUND_ROWS", 200)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 20000)
# Licences expiring within this many days are shown as expiring soon.
LICENCE_EXPIRY_WARNING_DAYS = env_int("LICENCE_EXPIRY_WARNING_DAYS", 60)

# GB 18218-2018 / 40号令 rules the reference marks unverified ([M]); see docs/rules.md.
MH_FILING_DAYS = env_int("MH_FILING_DAYS", 15)  # filing within N days of the evaluation report
MH_OPERATIONAL_CHECK_DAYS = env_int("MH_OPERATIONAL_CHECK_DAYS", 7)  # 操作负责人 check interval
MH_BETA_MULTI_CATEGORY = os.environ.get("MH_BETA_MULTI_CATEGORY", "max")  # "max" or "q_category"
MH_COAL_GAS_BETA = os.environ.get("MH_COAL_GAS_BETA") or None  # e.g. "2" (practice); unset: the standard's text
MH_DEFAULT_BETA = os.environ.get("MH_DEFAULT_BETA") or None  # e.g. "1" (2011 annex); unset: no default β

# Risk points are reassessed this many months after their last assessment (no national number: [M]).
RISK_REASSESSMENT_MONTHS = env_int("RISK_REASSESSMENT_MONTHS", 12)

# Hazard checks: anti-formalism thresholds (worksafe/checks/rules.py) and the life of a check page.
CHECK_MIN_SECONDS_PER_ITEM = env_int("CHECK_MIN_SECONDS_PER_ITEM", 5)  # faster than this per item: flagged
CHECK_PHASH_MAX_DISTANCE = env_int("CHECK_PHASH_MAX_DISTANCE", 4)  # bits of 64: the same photo
CHECK_MAX_DISTANCE_M = env_int("CHECK_MAX_DISTANCE_M", 1000)  # phone farther than this from the enterprise: flagged
CHECK_COPY_SIMILARITY_PERCENT = env_int("CHECK_COPY_SIMILARITY_PERCENT", 95)  # notes this alike an earlier check's
CHECK_COPY_MIN_REPEATS = env_int("CHECK_COPY_MIN_REPEATS", 3)  # the same note on this many items of one check
CHECK_START_MAX_AGE_HOURS = env_int("CHECK_START_MAX_AGE_HOURS", 12)  # an older check page must be reopened

# Open hazards whose deadline is this close are shown as due soon.
HAZARD_DUE_SOON_DAYS = env_int("HAZARD_DUE_SOON_DAYS", 7)

# Online monitoring (worksafe/monitoring). Retention follows 40号令 (≥ 30 days of records); the offline,
# escalation, warning and quality numbers are our proposal (major_hazards.md §2.3 [D]): see docs/rules.md.
MONITORING_RAW_RETENTION_DAYS = max(30, env_int("MONITORING_RAW_RETENTION_DAYS", 30))
MONITORING_ROLLUP_RETENTION_DAYS = env_int("MONITORING_ROLLUP_RETENTION_DAYS", 3 * 365)
MONITORING_OFFLINE_PERIODS = env_int("MONITORING_OFFLINE_PERIODS", 3)  # missed sampling periods → 数据中断
MONITORING_OFFLINE_FLOOR_S = env_int("MONITORING_OFFLINE_FLOOR_S", 300)  # … but never sooner than this
MONITORING_MAX_CLOCK_AHEAD_S = env_int("MONITORING_MAX_CLOCK_AHEAD_S", 300)  # later readings: rejected, drift event
MONITORING_CLOCK_DRIFT_S = env_int("MONITORING_CLOCK_DRIFT_S", 30)  # gateway clock this far ahead: drift event
MONITORING_FLATLINE_MINUTES = env_int("MONITORING_FLATLINE_MINUTES", 60)  # unchanged value this long: flatline
MONITORING_ESCALATION_MINUTES = [int(m) for m in os.environ.get("MONITORING_ESCALATION_MINUTES",
                                                                "10,30,60").split(",")]  # → county, city, province
MONITORING_ALARM_PERSIST_MINUTES = env_int("MONITORING_ALARM_PERSIST_MINUTES", 30)  # §2.3: yellow/red after this
MONITORING_WARNING_RULE = os.environ.get("MONITORING_WARNING_RULE",
                                         "worksafe.monitoring.rules.default_warning_level")
MONITORING_WARNING_WEIGHTS: dict = {}  # overrides of rules.DEFAULT_WARNING_WEIGHTS
MONITORING_QUALITY_WEIGHTS = {"interruption": 2.0, "noise": 1.0, "noise_free": 5.0}
MONITORING_CHANNELS = os.environ.get("MONITORING_CHANNELS", "in_app").split(",")  # outbox channels per alarm
MONITORING_LATE_LOOKBACK_S = env_int("MONITORING_LATE_LOOKBACK_S", 3600)  # longest message span replays look back
MONITORING_LAST_VALUE_FLUSH_S = 2.0  # last values reach the point table at most this late
MONITORING_SEQ_GAP_GRACE_S = env_int("MONITORING_SEQ_GAP_GRACE_S", 300)  # missing messages this long: a gap event
MONITORING_SEQ_GAP_LOOKBACK_DAYS = env_int("MONITORING_SEQ_GAP_LOOKBACK_DAYS", 2)  # how far back gaps are searched
MONITORING_QUALITY_QUIET_MINUTES = env_int("MONITORING_QUALITY_QUIET_MINUTES", 30)  # quiet this long: event closes
MONITORING_FLATLINE_MIN_FILL = float(os.environ.get("MONITORING_FLATLINE_MIN_FILL", "0.5"))  # share of samples seen
MONITORING_ROLLUP_LAG_S = env_int("MONITORING_ROLLUP_LAG_S", 60)  # rollups wait for in-flight transactions
MONITORING_OUTBOX_BACKOFF_S = env_int("MONITORING_OUTBOX_BACKOFF_S", 30)  # first retry of a failed notification
MONITORING_OUTBOX_MAX_ATTEMPTS = env_int("MONITORING_OUTBOX_MAX_ATTEMPTS", 8)
MONITORING_SMS_SENDER = os.environ.get("MONITORING_SMS_SENDER", "")  # dotted path of an SMS sender; unset: off
SITE_URL = os.environ.get("SITE_URL", "")  # absolute links in e-mails, e.g. https://worksafe.fujian.gov.cn

PAGE_SIZE = 25

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
