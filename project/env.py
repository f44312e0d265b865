"""Read Llana-compatible environment variables for the example project's settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or blank."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name: str, default: bool = False) -> bool:
    """``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off`` (any case); unset or blank = ``default``.

    Anything else stops the settings with a message naming the variable (a typo must not flip a switch).
    """
    value = env(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_VALUES:
        return True
    if word in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/1/yes/on or false/0/no/off, got {value!r}.")


def put_bool(target: dict[str, Any], key: str, name: str) -> None:
    """Copy boolean environment variable ``name`` into ``target[key]`` when it is set."""
    if env(name) is not None:
        target[key] = env_bool(name)


def secret_key(name: str, path: Path) -> str:
    """The secret in variable ``name``, else the one stored in ``path``, created on first use.

    The created file holds 64 random bytes (URL-safe base64), is readable by its owner only (mode 0600)
    and is never overwritten: every process of one installation signs with the same key. No public
    default key exists, so a token signed by anyone else never verifies.
    """
    value = env(name)
    if value is not None:
        return value
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary file, then linked into place: a process starting at the same time
    # either wins the link or reads the winner's complete key, never an empty file.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(64) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"The secret key file {path} is empty: delete it to generate a new key.")
    return key


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
