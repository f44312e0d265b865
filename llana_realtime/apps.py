"""App config of the realtime app: connects the table-event receivers and registers the table feed."""
from __future__ import annotations

from django.apps import AppConfig


class LlanaRealtimeConfig(AppConfig):
    name = "llana_realtime"
    verbose_name = "Llana realtime"

    def ready(self) -> None:
        from llana_realtime import (
            checks,  # noqa: F401  (registers the checks)
            signals,
        )
        from llana_realtime.server import default_server
        from llana_realtime.tables import feed

        signals.connect()
        default_server.register(feed)
