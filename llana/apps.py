"""App config of the REST app: registers system checks and signal receivers."""

from __future__ import annotations

from django.apps import AppConfig


class LlanaConfig(AppConfig):
    name = "llana"
    verbose_name = "Llana API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: both import models, which Django loads after this module.
        from llana import checks, receivers

        checks.register()  # the checks of llana.checks
        receivers.connect()
