"""App config of the REST app: registers system checks and signal receivers."""
from __future__ import annotations

from django.apps import AppConfig


class LlanaConfig(AppConfig):
    name = "llana"
    verbose_name = "Llana API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from llana import checks  # noqa: F401  (registers the checks)
        from llana.cache import connect_signals

        connect_signals()
