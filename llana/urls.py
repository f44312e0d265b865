"""URLs of the Llana REST API (include at the site root: ``path("", include("llana.urls"))``).

``auth/`` (the auth endpoints), ``tables``, then per table ``<T>`` / ``<T>/`` (list, create, update
many, delete many), ``<T>/schema`` and ``<T>/<id>`` (a trailing slash is tolerated everywhere). The
names ``admin``, ``auth`` and ``tables`` are never taken as table names.
"""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import DynamicRoute, Route, SimpleRouter

from llana.api.auth_views import LoginView, LogoutView, ProfileView, RefreshView
from llana.api.views import TablesView, TableViewSet
from llana.openapi.docs_views import docs_view, openapi_view

# A table name: one path segment that is not one of the reserved prefixes.
TABLE_PATTERN = r"(?P<table>(?!(?:admin|auth|tables)(?:/|$))[^/]+)"


class TableRouter(SimpleRouter):
    """Llana's routes: bulk update/delete on the collection URL, optional trailing slashes."""

    routes = [
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={
                "get": "list",
                "post": "create",
                "put": "update_many",
                "patch": "update_many",
                "delete": "destroy_many",
            },
            name="{basename}-list",
            detail=False,
            initkwargs={"suffix": "List"},
        ),
        DynamicRoute(
            url=r"^{prefix}/{url_path}{trailing_slash}$", name="{basename}-{url_name}", detail=False, initkwargs={}
        ),
        Route(
            url=r"^{prefix}/{lookup}{trailing_slash}$",
            mapping={"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"},
            name="{basename}-detail",
            detail=True,
            initkwargs={"suffix": "Instance"},
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = TableRouter()
router.register(TABLE_PATTERN, TableViewSet, basename="llana-table")

urlpatterns = [
    path("", docs_view, name="llana-docs"),
    path("openapi.json", openapi_view, name="llana-openapi"),
    path("auth/login", LoginView.as_view(), name="llana-login"),
    path("auth/refresh", RefreshView.as_view(), name="llana-refresh"),
    path("auth/logout", LogoutView.as_view(), name="llana-logout"),
    path("auth/profile", ProfileView.as_view({"get": "profile"}), name="llana-profile"),
    re_path(r"^tables/?$", TablesView.as_view(), name="llana-tables"),
    *router.urls,
]
