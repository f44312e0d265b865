"""App config of the realtime app: connects the table-event receivers and registers the table feed."""

from __future__ import annotations

from django.apps import AppConfig


class LlanaRealtimeConfig(AppConfig):
    name = "llana_realtime"
    verbose_name = "Llana realtime"

    def ready(self) -> None:
        # Imported here, not at module level: they import models (llana.models, llana.registry), which
        # Django allows only once the app registry is ready, i.e. in ready().
        from llana_realtime import checks  # noqa: F401  (registers the checks)
        from llana_realtime.feed import publisher
        from llana_realtime.feed.namespace import feed
        from llana_realtime.socketio.server import default_server

        publisher.connect()
        default_server.register(feed)
