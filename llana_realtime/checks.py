"""System checks for ``LLANA_REALTIME``."""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.checks import Error, Warning, register

from llana_realtime.settings import realtime_settings

POSITIVE_INTS = (
    "PING_INTERVAL",
    "PING_TIMEOUT",
    "MAX_PAYLOAD",
    "CONNECT_TIMEOUT",
    "OUTGOING_QUEUE_SIZE",
    "MAX_BUFFERED_BYTES",
)


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


@register()
def check_channel_layer(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """W001: with the in-memory channel layer, table events reach only the sockets of the writing process."""
    try:
        layer = get_channel_layer()
    except Exception as exc:  # a misconfigured CHANNEL_LAYERS (bad backend path, missing package)
        return [
            Warning(
                f"CHANNEL_LAYERS['default'] could not be loaded: {exc}.",
                hint="Fix CHANNEL_LAYERS, or set REDIS_URL for the example project.",
                id="llana_realtime.W002",
            )
        ]
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return [
            Warning(
                "Realtime table events use the in-memory channel layer: they reach only sockets "
                "connected to the process that made the write (single server process only).",
                hint="For several processes or servers configure channels_redis "
                "(channels_redis.pubsub.RedisPubSubChannelLayer); the example project does so when "
                "REDIS_URL or REDIS_HOST/REDIS_PORT is set.",
                id="llana_realtime.W001",
            )
        ]
    return []
