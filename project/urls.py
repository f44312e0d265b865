"""URLs of the example project: Django admin under /admin/, the live demo page under /demo/live/, everything
else is django-llana's."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("demo/live/", include("project.demo.urls")),
    path("", include("llana.urls")),
]
