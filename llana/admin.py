"""Django admin for Llana's system tables: roles, public tables, API keys, and "what can this user do?".

Table names are chosen from the registry (not typed), ``identity_column`` and ``allowed_fields`` are
checked against the chosen table's columns. API keys are created in admin (the plaintext is shown
once, in a message) and revoked with an action. ``Role`` changes apply at once (``llana.permissions.cache``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from llana.auth.identities import identity_for_user
from llana.models import ApiKey, PublicTable, Relation, Role
from llana.permissions.engine import Level, decide, split_fields
from llana.permissions.ownership import (
    IdentityColumnError,
    model_for_table,
    resolve_owner_path,
    table_names,
)
from llana.registry import get_table


def _table_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(name, name) for name in table_names()]


def _columns(table: str) -> set[str]:
    exposed = get_table(table)
    return set(exposed.columns) if exposed is not None else set()


def _check_fields(form: forms.ModelForm, table: str | None) -> None:
    fields = split_fields(form.cleaned_data.get("allowed_fields"))
    if not fields or not table:
        return
    columns = _columns(table)
    unknown = sorted(f for f in fields if "." not in f and f not in columns)  # "Rel.col" entries name relations
    if unknown:
        form.add_error("allowed_fields", f"Not columns of {table}: {', '.join(unknown)}")


def describe_restriction(restriction: Any, user_pk: Any) -> str:
    """An own-records restriction as a person reads it: ``customer.user is this user``, joined by and/or.

    ``restriction`` is the ``Q`` of a permission decision (``owner.q(user_pk)``, or several combined), or
    one of its children: a ``(lookup, value)`` pair.
    """
    if not isinstance(restriction, Q):
        lookup, value = restriction
        path = lookup.removesuffix("__exact").replace("__", ".")
        return f"{path} is this user" if str(value) == str(user_pk) else f"{path} = {value!r}"
    parts = [describe_restriction(child, user_pk) for child in restriction.children]
    text = f" {restriction.connector.lower()} ".join(parts)
    if len(parts) > 1 and (restriction.negated or restriction.connector == Q.OR):
        text = f"({text})"
    return f"not {text}" if restriction.negated else text


class TableChoiceForm(forms.ModelForm):
    """A form whose ``table`` is chosen from the API's tables."""

    table = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table_field = self.fields["table"]
        assert isinstance(table_field, forms.ChoiceField)  # declared above
        table_field.choices = _table_choices()


class RoleForm(TableChoiceForm):
    table = forms.ChoiceField(required=False, help_text="The table of a custom row (custom rows only).")

    class Meta:
        model = Role
        fields = ["role", "custom", "table", "records", "own_records", "identity_column", "allowed_fields"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        custom, table = data.get("custom"), data.get("table") or None
        if custom and not table:
            self.add_error("table", "A custom row needs a table.")
        if not custom and table:
            self.add_error("table", "A default row applies to every table; leave the table empty or tick custom.")
        if not custom and data.get("own_records"):
            self.add_error("own_records", "own_records only applies to custom rows.")
        data["table"] = table
        if custom and table:
            model = model_for_table(table)
            if model is not None and data.get("own_records"):
                try:
                    resolve_owner_path(model, data.get("identity_column"))
                except IdentityColumnError as exc:
                    self.add_error("identity_column", str(exc))
            _check_fields(self, table)
        return data


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["role", "custom", "table", "records", "own_records", "identity_column", "allowed_fields"]
    list_filter = ["role", "table", "custom", "records"]
    search_fields = ["role", "table"]
    change_list_template = "admin/llana/role/change_list.html"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.effective_view)
        return [path("effective/", view, name="llana_role_effective"), *super().get_urls()]

    def effective_view(self, request: HttpRequest) -> HttpResponse:
        """ "What can this user do?": the effective permission of a user on every table."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        user_model = get_user_model()
        users = user_model._default_manager.order_by("pk")[:500]
        selected = None
        rows: list[dict[str, Any]] = []
        if request.GET.get("user"):
            selected = user_model._default_manager.filter(pk=request.GET["user"]).first()
        if selected is not None:
            identity = identity_for_user(selected)
            for table in table_names():
                cells = []
                for level in (Level.READ, Level.WRITE, Level.DELETE):
                    decision = decide(identity, table, level)
                    if not decision.allowed:
                        cells.append({"state": "denied", "text": decision.message})
                    elif decision.restriction is not None:
                        text = describe_restriction(decision.restriction, selected.pk)
                        cells.append({"state": "own", "text": f"own records: rows where {text}"})
                    else:
                        cells.append({"state": "allowed", "text": "all records"})
                    if decision.allowed and decision.fields:
                        cells[-1]["text"] += " · fields: " + ", ".join(sorted(decision.fields))
                rows.append({"table": table, "cells": cells})
        context = {
            **self.admin_site.each_context(request),
            "title": "What can this user do?",
            "opts": self.model._meta,
            "users": users,
            "selected": selected,
            "roles": sorted(identity_for_user(selected).roles) if selected is not None else [],
            "rows": rows,
        }
        return TemplateResponse(request, "admin/llana/role/effective.html", context)


class PublicTableForm(TableChoiceForm):
    table = forms.ChoiceField()

    class Meta:
        model = PublicTable
        fields = ["table", "access_level", "allowed_fields"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        _check_fields(self, data.get("table"))
        return data


@admin.register(PublicTable)
class PublicTableAdmin(admin.ModelAdmin):
    form = PublicTableForm
    list_display = ["table", "access_level", "allowed_fields"]
    list_filter = ["access_level", "table"]


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):
    list_display = ["table", "column", "org_table", "org_column"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created", "last_used", "expires", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix"]
    raw_id_fields = ["user"]
    actions = ["revoke_keys", "replace_keys"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "expires")
        return ("user", "name", "prefix", "created", "last_used", "expires", "revoked")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return ["user", "prefix", "created", "last_used"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, plaintext = ApiKey.objects.create_key(obj.user, obj.name, expires=obj.expires)
        obj.pk = row.pk
        obj.__dict__.update({k: v for k, v in row.__dict__.items() if not k.startswith("_")})
        self._show_once(request, row, plaintext)

    def _show_once(self, request: HttpRequest, row: ApiKey, plaintext: str) -> None:
        messages.warning(
            request,
            format_html(
                "API key for {}: <code>{}</code> — copy it now, it is stored hashed and will not be shown again.",
                row.user,
                plaintext,
            ),
        )

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for row in queryset:
            row.revoked = True
            row.save(update_fields=["revoked"])
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

    @admin.action(description="Create a replacement key (and revoke the selected ones)")
    def replace_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for old in queryset.select_related("user"):
            row, plaintext = ApiKey.objects.create_key(old.user, old.name, expires=old.expires)
            old.revoked = True
            old.save(update_fields=["revoked"])
            self._show_once(request, row, plaintext)
