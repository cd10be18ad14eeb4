"""Linli settings: everything that differs between machines comes from the environment.

DATABASE_URL          default: SQLite file db.sqlite3 in the project (the embedded database)
SECRET_KEY            required when DEBUG is off
DEBUG                 "1"/"true" to enable (default on for the embedded demo, off when DATABASE_URL is set)
ALLOWED_HOSTS         comma-separated
CSRF_TRUSTED_ORIGINS  comma-separated origins (https://example.org)
CACHE_URL             "locmem://" (default) or "redis://host:port/db"
TASKS_BACKEND         "database" (default: django-tasks-db, run `manage.py db_worker`), "immediate" or "dummy"
CONN_MAX_AGE          seconds a database connection is kept (default 0)
MEDIA_ROOT            public media (Wagtail images and documents)
PRIVATE_MEDIA_ROOT    residents' uploads, served only through a permission check
LINLI_FORMS_DIR       forms_schemas/ to load definitions from
LINLI_WORKFLOWS_DIR   workflows_yaml/ to load definitions from
WAGTAILADMIN_BASE_URL the admin's address, for links in notifications
STATIC_MANIFEST       "1" in production after collectstatic: hashed static names served by whitenoise
LOG_LEVEL, TASKS_LOG_LEVEL  logging levels (default WARNING)
EMAIL_HOST, EMAIL_PORT, DEFAULT_FROM_EMAIL  SMTP for notifications (without EMAIL_HOST mail goes to the console)
STATIC_ROOT           where collectstatic writes (default static_collected/ in the project)
TASKS_REDIS_URL       with TASKS_BACKEND=rq: the Redis database of the task queue (not the cache's)
SMS_BACKEND           text messages (sign-in codes): "console" (default: printed), "file" (one file per
                      message in SMS_FILE_PATH), "locmem" (tests) or the dotted path of a provider's class
SMS_FILE_PATH         with SMS_BACKEND=file: the folder messages are written to

HTTPS and headers (production: see deploy/production.env.example):
HTTPS                 "1" when the site is served over HTTPS: secure cookies, SSL redirect, HSTS
SECURE_SSL_REDIRECT, SECURE_HSTS_SECONDS, SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD
                      override what HTTPS implies, one by one
SECURE_PROXY_SSL_HEADER  the header a trusted reverse proxy sets, e.g. "X-Forwarded-Proto" (opt-in)
PROXY_COUNT           reverse proxies in front that append to X-Forwarded-For (default 0: the
                      client address is REMOTE_ADDR); rate limits count per client address

Rate limits (0 turns one off):
LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_SECONDS   failed sign-ins per username and address (5 in 900 s)
ANONYMOUS_SUBMISSION_LIMIT, ANONYMOUS_SUBMISSION_WINDOW  submissions per address by visitors
                      not signed in (20 in 600 s)
SIGN_IN_CODE_LIMIT, SIGN_IN_CODE_WINDOW  sign-in codes sent to one mobile number (5 in 3600 s)
SIGN_IN_CODE_ADDRESS_LIMIT, SIGN_IN_CODE_ADDRESS_WINDOW  sign-in codes asked for from one address
                      (30 in 3600 s); a code is valid 5 minutes and void after 5 wrong tries
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else default


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


DEBUG = env_bool("DEBUG", "DATABASE_URL" not in os.environ)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment when DEBUG is off.")
    SECRET_KEY = "linli-insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "engine",
    "cms",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "guardian",
    "formtools",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # after whitenoise (static files need none), before the page cache: cached pages get the headers too
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "engine.security.AdminContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # NUL and broken characters refused at the door (400 naming the field); a database outage is a 503
    "engine.inbound.InboundTextMiddleware",
    "cms.cache.PublicPageCacheMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "engine.security.LoginLockoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
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
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        # a kept connection is checked before a request reuses it: after PostgreSQL restarts,
        # the first request on each worker reconnects instead of failing with a 500
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one of
    # them failing half-way with "database is locked"; WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not shared-cache memory: shared cache locks whole tables and ignores the
    # busy timeout, so concurrency tests would see errors no real deployment shows.
    # One file per process, so two test runs on one machine do not share (and lock) a database.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"linli-test-{os.getpid()}.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Wagtail's database search backend uses PostgreSQL's full-text fields and GIN indexes
    INSTALLED_APPS += ["django.contrib.postgres"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The ledger's covering index serves PostgreSQL; SQLite builds it without the INCLUDE columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTHENTICATION_BACKENDS = [
    # Django's ModelBackend behind a per-username-and-address limit of failed sign-ins: the
    # admin login, Django's admin and POST /api/v1/auth/token/ all authenticate through it
    "engine.security.RateLimitedModelBackend",
    # a mobile number and the one-time code sent to it (engine.services.sign_in)
    "engine.services.sign_in.PhoneCodeBackend",
    "guardian.backends.ObjectPermissionBackend",
    # Wagtail's admin area for those who manage a community, as engine.policy decides
    "engine.policy.AdminAreaBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# One sign-in page for everybody (mobile number and code, or username and password); Wagtail's
# admin keeps its own login page for staff with passwords (/admin/login/).
LOGIN_URL = "/login/"

# Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
WAGTAIL_I18N_ENABLED = False
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static_collected"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # STATIC_MANIFEST=1 in production (after collectstatic): hashed, compressed names that
    # whitenoise serves with far-future caching. Off by default so tests and a first start
    # need no collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if env_bool("STATIC_MANIFEST", False) else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not env_bool("STATIC_MANIFEST", False)  # serve app static without collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Residents' uploads: never under MEDIA_URL; served by a view after a permission check.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private_media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

CACHE_URL = os.environ.get("CACHE_URL", "locmem://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "engine.redis_cache.RedisCache", "LOCATION": CACHE_URL}}
    # Sessions read from the shared cache, written through to the database: a Redis restart
    # signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif CACHE_URL.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must start with redis:// or locmem://, not {CACHE_URL!r}")
# Public pages a web process has served are also kept in its memory, up to this many bytes
# (cms/cache.py): a hit then fetches no page from the shared cache.
LINLI_PAGE_CACHE_LOCAL_BYTES = 32 * 1024 * 1024
# With Redis, each web process also holds the purge markers it read, and a purge tells every process
# to forget its own before it returns, waiting at most this many seconds for them to confirm
# (cms/generations.py). PAGE_CACHE_PUSH=0 reads the markers from Redis on every hit instead (for
# a Redis without pub/sub, such as some cluster proxies).
LINLI_PAGE_CACHE_PUSH = env_bool("PAGE_CACHE_PUSH", True)
LINLI_PAGE_CACHE_PURGE_WAIT = float(os.environ.get("PAGE_CACHE_PURGE_WAIT", "2"))

# Mail (notifications, Wagtail's moderation messages): SMTP when EMAIL_HOST is set, else
# written to the log (the demo and tests have no mail server).
_email_host = os.environ.get("EMAIL_HOST", "")
MAILERS = {"default": (
    {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
     "OPTIONS": {"host": _email_host, "port": int(os.environ.get("EMAIL_PORT", "25"))}}
    if _email_host else {"BACKEND": "django.core.mail.backends.console.EmailBackend"})}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "linli@localhost")

# Text messages (engine.sms), chosen like the mail backend: console (printed), file (one file per
# message in SMS_FILE_PATH: tests and the demo read codes there), locmem, or a provider's class.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console").strip() or "console"
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", "").strip()
if SMS_BACKEND not in {"console", "file", "locmem"} and "." not in SMS_BACKEND:
    raise ImproperlyConfigured(f"SMS_BACKEND must be console, file, locmem or the dotted path of a class, not {SMS_BACKEND!r}")
if SMS_BACKEND == "file" and not SMS_FILE_PATH:
    raise ImproperlyConfigured("SMS_BACKEND=file needs SMS_FILE_PATH, the folder to write messages to.")
# Sign-in codes: valid this many seconds; void after this many wrong tries (a new code is needed).
LINLI_SIGN_IN_CODE_SECONDS = 300
LINLI_SIGN_IN_CODE_TRIES = 5

TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    # RQ on Redis (django-tasks-rq); worker: manage.py rqworker default --with-scheduler --job-class django_tasks_rq.Job
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
_tasks_backend = os.environ.get("TASKS_BACKEND", "database")
if _tasks_backend not in TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {sorted(TASK_BACKENDS)}, not {_tasks_backend!r}")
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_tasks_backend]}}
if _tasks_backend == "rq":
    TASKS_REDIS_URL = os.environ.get("TASKS_REDIS_URL", "")
    if not TASKS_REDIS_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("TASKS_BACKEND=rq needs TASKS_REDIS_URL=redis://host:port/db.")
    if TASKS_REDIS_URL.rstrip("/") == CACHE_URL.rstrip("/"):
        # clearing the cache (FLUSHDB) would drop every queued task with it
        raise ImproperlyConfigured("TASKS_REDIS_URL must name another Redis database than CACHE_URL.")
    INSTALLED_APPS += ["django_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {"default": {"URL": TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 600}}

# ---------------------------------------------------------------- HTTPS and headers

# HTTPS=1 where the site is served over TLS (directly or by a proxy): cookies only over HTTPS,
# plain HTTP redirected, browsers told to come back over HTTPS for a year (HSTS). Each can be
# overridden on its own; SECURE_HSTS_PRELOAD is a commitment (hstspreload.org), so never implied.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto (or the header named) only behind a proxy that always sets it.
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_ssl_header.upper().replace('-', '_')}", "https") if _proxy_ssl_header else None
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # Wagtail's preview frames itself with its own SAMEORIGIN override

# Content Security Policy (Django's ContentSecurityPolicyMiddleware). The public site uses only
# its own scripts and styles: no inline script runs. Inline styles stay allowed: templates and the
# server-drawn SVG charts use style attributes, which a nonce cannot cover.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Wagtail's admin has inline scripts in its panels and date pickers, blob: image previews and a
# preview pane that frames the site: a looser policy for those paths (engine.security). A page
# previewed in that pane keeps the public policy, except that the admin may frame it.
LINLI_ADMIN_CSP_PATHS = ("/admin/", "/django-admin/")
LINLI_ADMIN_CSP = {
    **SECURE_CSP,
    "script-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
}
LINLI_PREVIEW_CSP = {**SECURE_CSP, "frame-ancestors": [CSP.SELF]}
# The admin asks no third party: no Gravatar images (e-mail hashes), no release check.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

# ---------------------------------------------------------------- rate limits (engine.security)

# Counted in the cache (Redis in production, so every process shares the count); limit 0 = off.
# Addresses: REMOTE_ADDR, or with PROXY_COUNT=n the n-th address from the right of
# X-Forwarded-For (what the outermost trusted proxy saw); IPv6 counts per /64.
LINLI_PROXY_COUNT = env_int("PROXY_COUNT", 0)
LINLI_RATE_LIMITS = {
    # failed sign-ins per username and address; then refused until the window ends; a success resets
    "login": {"limit": env_int("LOGIN_FAILURE_LIMIT", 5), "window": env_int("LOGIN_LOCKOUT_SECONDS", 900)},
    # submissions stored per address by visitors who are not signed in (a shared carrier-grade
    # NAT puts many residents behind one address: keep it generous)
    "anonymous_submission": {"limit": env_int("ANONYMOUS_SUBMISSION_LIMIT", 20),
                             "window": env_int("ANONYMOUS_SUBMISSION_WINDOW", 600)},
    # sign-in codes sent to one mobile number, and asked for from one address (engine.services.sign_in)
    "sign_in_code": {"limit": env_int("SIGN_IN_CODE_LIMIT", 5), "window": env_int("SIGN_IN_CODE_WINDOW", 3600)},
    "sign_in_code_address": {"limit": env_int("SIGN_IN_CODE_ADDRESS_LIMIT", 30),
                             "window": env_int("SIGN_IN_CODE_ADDRESS_WINDOW", 3600)},
}

WAGTAIL_SITE_NAME = "邻里 Linli"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "xlsx", "docx", "txt"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["engine.api.parsing.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "engine.api.parsing.linli_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Linli API",
    "DESCRIPTION": "Forms, submissions, flows and points of Linli (邻里).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_URLCONF": "engine.api.schema_urls",
    # `check --deploy` generates the schema from the whole URLconf, Wagtail's admin API included
    "PREPROCESSING_HOOKS": ["config.settings.linli_api_endpoints"],
}


def linli_api_endpoints(endpoints, **kwargs):
    """drf-spectacular hook: the schema describes Linli's API (/api/v1/) only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


# Where the community definitions live (the files a community starts from).
LINLI_FORMS_DIR = Path(os.environ.get("LINLI_FORMS_DIR", BASE_DIR / "forms_schemas"))
LINLI_WORKFLOWS_DIR = Path(os.environ.get("LINLI_WORKFLOWS_DIR", BASE_DIR / "workflows_yaml"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"django.tasks": {"level": os.environ.get("TASKS_LOG_LEVEL", "WARNING")}},
}
