"""URLs of the auth endpoints, mounted under ``auth/`` by ``llana.urls``."""
from __future__ import annotations

urlpatterns: list = []
