"""System checks for ``LLANA_REALTIME``."""
from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from llana_realtime.settings import realtime_settings

POSITIVE_INTS = ("PING_INTERVAL", "PING_TIMEOUT", "MAX_PAYLOAD", "CONNECT_TIMEOUT", "OUTGOING_QUEUE_SIZE")


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for number, name in enumerate(POSITIVE_INTS, start=1):
        value = getattr(realtime_settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors.append(
                Error(
                    f"LLANA_REALTIME[{name!r}] must be a positive integer, got {value!r}.",
                    id=f"llana_realtime.E00{number}",
                )
            )
    path = realtime_settings.PATH
    if not isinstance(path, str) or not path.startswith("/") or not path.endswith("/"):
        errors.append(
            Error(f"LLANA_REALTIME['PATH'] must start and end with '/', got {path!r}.", id="llana_realtime.E010")
        )
    return errors
