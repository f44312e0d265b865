"""Read Llana-compatible environment variables for the example project's settings."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or blank."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    """A positive whole number; anything else stops the settings with a message naming the variable."""
    value = env(name)
    if value is None:
        return default
    if not value.strip().isdigit() or int(value) <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive whole number, got {value!r}.")
    return int(value)


def env_list(name: str) -> list[str]:
    """A comma-separated list; blank entries are dropped (as Llana does for ``HOSTS``)."""
    return [item.strip() for item in (env(name) or "").split(",") if item.strip()]


def redis_url() -> str | None:
    """``REDIS_URL``, else one built from ``REDIS_HOST``/``REDIS_PORT``/``REDIS_USER``/``REDIS_PASS``."""
    url = env("REDIS_URL")
    if url:
        return url
    host = env("REDIS_HOST")
    if not host:
        return None
    port = env("REDIS_PORT", "6379")
    user = env("REDIS_USER", "")
    password = env("REDIS_PASS", "")
    auth = f"{user}:{password}@" if (user or password) else ""
    return f"redis://{auth}{host}:{port}/0"


def put(target: dict[str, Any], key: str, name: str) -> None:
    """Copy environment variable ``name`` into ``target[key]`` when it is set (validated by checks)."""
    value = env(name)
    if value is not None:
        target[key] = value
