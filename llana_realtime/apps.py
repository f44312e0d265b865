"""App config of the realtime app."""
from __future__ import annotations

from django.apps import AppConfig


class LlanaRealtimeConfig(AppConfig):
    name = "llana_realtime"
    verbose_name = "Llana realtime"

    def ready(self) -> None:
        from llana_realtime import checks  # noqa: F401  (registers the checks)
