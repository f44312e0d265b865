"""URLs of the Llana REST API (include at the site root: ``path("", include("llana.urls"))``)."""
from __future__ import annotations

urlpatterns: list = []
