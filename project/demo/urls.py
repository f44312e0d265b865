"""URLs of the demo app, mounted by ``project/urls.py`` under ``demo/live/``."""

from __future__ import annotations

from django.urls import path

from project.demo import views

urlpatterns = [
    path("", views.live, name="demo-live"),
    path("static/<str:name>", views.live_asset, name="demo-live-asset"),
]
