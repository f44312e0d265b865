"""Settings of the example project: SQLite and the in-memory channel layer unless the environment says otherwise.

Llana-compatible environment variables (DATABASE_URL/DATABASE_URI, SKIP_AUTH, SOFT_DELETE_COLUMN,
DEFAULT_LIMIT, HOSTS, REDIS_*, JWT_*, BASE_URL_APP) are mapped onto the ``LLANA`` and ``LLANA_REALTIME`` settings;
their values are validated by the apps' system checks at startup.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers

from project.env import env, env_bool, env_int, env_list, put, put_bool, redis_url, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)
# DJANGO_SECRET_KEY, else a random key generated on first run and kept in DJANGO_SECRET_KEY_FILE (default
# .secret_key next to the default SQLite file, git-ignored, mode 0600). There is no public default key:
# it also signs the JWTs (unless JWT_KEY is set), and llana's checks refuse known or short keys (docs/security.md).
SECRET_KEY = secret_key("DJANGO_SECRET_KEY", Path(env("DJANGO_SECRET_KEY_FILE") or BASE_DIR / ".secret_key"))
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "channels",
    "corsheaders",
    "llana",
    "llana_realtime",
    "project.demo",
]

MIDDLEWARE = [
    "llana.middleware.LlanaMiddleware",  # outermost: X-Robots-Tag and JSON errors on every response
    "llana.hosts.HostsMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # after HOSTS (a preflight is a request too), before all else
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL (or Llana's DATABASE_URI), default SQLite --------------------------------
DATABASE_URL = env("DATABASE_URL") or env("DATABASE_URI") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
if DATABASE_URL.startswith(("mysql", "mariadb")):
    import pymysql

    pymysql.install_as_MySQLdb()
    DATABASE_URL = "mysql" + DATABASE_URL[DATABASE_URL.index(":") :]
# Under ASGI every request runs in a thread of its own, so persistent connections (CONN_MAX_AGE > 0) would
# pile up until the database refuses clients. PostgreSQL gets psycopg's connection pool instead (Llana's
# DATABASE_POOL_SIZE / DATABASE_POOL_IDLE_TIMEOUT in ms); other databases connect per request.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DATABASE_POOL_SIZE", 10),
        "max_idle": env_int("DATABASE_POOL_IDLE_TIMEOUT", 60000) / 1000,
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "demo.User"

# --- Channel layer and cache: Redis when configured, in-process otherwise ----------------------------
REDIS_URL = redis_url()
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # `manage.py collectstatic` target for production

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "llana.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# --- django-llana -----------------------------------------------------------------------------------
LLANA: dict[str, object] = {}
put(LLANA, "SOFT_DELETE_COLUMN", "SOFT_DELETE_COLUMN")
put(LLANA, "DEFAULT_LIMIT", "DEFAULT_LIMIT")
put(LLANA, "MAX_LIMIT", "MAX_LIMIT")
put(LLANA, "TRUSTED_PROXY_HEADER", "TRUSTED_PROXY_HEADER")
put(LLANA, "JWT_KEY", "JWT_KEY")
put(LLANA, "JWT_EXPIRES_IN", "JWT_EXPIRES_IN")
put(LLANA, "JWT_REFRESH_EXPIRES_IN", "JWT_REFRESH_EXPIRES_IN")
put(LLANA, "API_KEY_LOCATION", "AUTH_USER_API_KEY_LOCATION")
put(LLANA, "API_KEY_NAME", "AUTH_USER_API_KEY_NAME")
put(LLANA, "CACHE_IDENTITY_DATA_TTL", "CACHE_IDENTITY_DATA_TTL")
put(LLANA, "CACHE_WS_IDENTITY_DATA_TTL", "CACHE_WS_IDENTITY_DATA_TTL")
put(LLANA, "DOCS_TITLE", "DOCS_TITLE")
put_bool(LLANA, "SKIP_DOCS", "SKIP_DOCS")
put_bool(LLANA, "SKIP_AUTH", "SKIP_AUTH")
put_bool(LLANA, "SKIP_AUTH_ACKNOWLEDGED", "SKIP_AUTH_ACKNOWLEDGED")
if env("HOSTS") is not None:
    LLANA["HOSTS"] = env_list("HOSTS")

# --- Browser apps on other origins: one policy for REST (CORS, CSRF) and sockets ---------------------
# BASE_URL_APP (Llana's name; a comma list allowed) lists the frontends' origins, e.g. http://localhost:3000.
# Unset: in DEBUG the usual dev-server origins (Nuxt/Vite/React on localhost), in production none (same origin
# only). django-cors-headers answers preflights; llana trusts these origins for cookie-authenticated JSON
# writes; the Socket.IO transport accepts them too (docs/frontends.md, docs/security.md, "Frontends: CORS and CSRF").
DEV_APP_ORIGINS = [
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://localhost:5173",
    "http://127.0.0.1:5173",
]
CORS_ALLOWED_ORIGINS = env_list("BASE_URL_APP") or (DEV_APP_ORIGINS if DEBUG else [])
CORS_ALLOW_CREDENTIALS = True  # the accessToken / refreshToken cookies (Llana allows credentials too)
CORS_ALLOW_HEADERS = (*default_headers, str(LLANA.get("API_KEY_NAME") or "x-api-key"), "x-llana-table", "x-request-id")
CORS_EXPOSE_HEADERS = ["x-request-id"]

LLANA_REALTIME: dict[str, object] = {}  # CORS_ALLOWED_ORIGINS unset: sockets follow CORS_ALLOWED_ORIGINS above

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "llana": {"level": env("LLANA_LOG_LEVEL", "INFO")},
        "llana_realtime": {"level": env("LLANA_LOG_LEVEL", "INFO")},
    },
}
