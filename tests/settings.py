"""Test settings: the example project's, with the database and channel layer chosen by the environment.

``DATABASE_URL`` selects PostgreSQL or MariaDB (default SQLite in memory), ``REDIS_URL`` the Redis
layer and cache; ``LLANA_TEST_DB_NAME`` names the test database (so parallel runs don't collide). Redis is
used in the suite's own database number under the session's key prefix (``tests.services``), never in the
developer's database.
"""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403
from project.settings import CACHES, CHANNEL_LAYERS, DATABASES, REDIS_URL
from tests.services import TEST_REDIS_PREFIX, redis_url_for_tests

SECRET_KEY = "tests-only-secret-key-not-used-anywhere-else-0123456789"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if os.environ.get("LLANA_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["LLANA_TEST_DB_NAME"]}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})

if REDIS_URL:
    REDIS_URL = redis_url_for_tests(REDIS_URL)
    CHANNEL_LAYERS["default"]["CONFIG"] = {"hosts": [REDIS_URL], "prefix": TEST_REDIS_PREFIX}
    CACHES["default"].update(LOCATION=REDIS_URL, KEY_PREFIX=TEST_REDIS_PREFIX)

LOGGING = {"version": 1, "disable_existing_loggers": False}

# Relation shapes the demo lacks (two foreign keys to one table, a many-to-many): tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.relapp"]  # noqa: F405
