"""System checks of the table feed: the in-memory channel layer warning (W001), a broken layer (W002)."""

from __future__ import annotations

from typing import Any

from django.core.checks import run_checks


def ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("llana_realtime.W")]


def test_in_memory_layer_warns_single_process(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert ids() == ["llana_realtime.W001"]


def test_redis_layer_does_not_warn(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
        }
    }
    assert ids() == []


def test_unloadable_layer_is_reported(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "no.such.Layer"}}
    assert ids() == ["llana_realtime.W002"]
