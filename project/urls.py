"""URLs of the example project: Django admin under /admin/, the live demo page under /demo/live/, a favicon,
everything else is django-llana's."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from project.demo.views import favicon

urlpatterns = [
    path("admin/", admin.site.urls),
    path("demo/live/", include("project.demo.urls")),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("llana.urls")),
]
