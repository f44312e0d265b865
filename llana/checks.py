"""System checks for ``LLANA``: a bad value stops the server with a message naming the setting."""
from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from llana.settings import llana_settings


def _positive_int(name: str, value: Any, errors: list[Error], check_id: str) -> None:
    try:
        ok = int(str(value)) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        errors.append(
            Error(
                f"LLANA[{name!r}] must be a positive integer, got {value!r}.",
                hint=f"Set LLANA[{name!r}] (or the {name} environment variable) to a whole number, e.g. 20.",
                id=check_id,
            )
        )


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    _positive_int("DEFAULT_LIMIT", llana_settings.DEFAULT_LIMIT, errors, "llana.E001")
    _positive_int("MAX_LIMIT", llana_settings.MAX_LIMIT, errors, "llana.E002")
    return errors
