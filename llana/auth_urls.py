"""URLs of the auth endpoints, mounted under ``auth/`` by ``llana.urls``."""
from __future__ import annotations

from django.urls import path

from llana import views

urlpatterns = [
    path("login", views.LoginView.as_view(), name="llana-login"),
    path("refresh", views.RefreshView.as_view(), name="llana-refresh"),
    path("logout", views.LogoutView.as_view(), name="llana-logout"),
    path("profile", views.ProfileView.as_view(), name="llana-profile"),
]
