"""Llana's system tables: roles, public tables and manual relations (reference section 9)."""
from __future__ import annotations

from django.db import models


class AccessLevel(models.TextChoices):
    """Llana's permission levels; a grant satisfies every need at or below it (NONE < READ < WRITE < DELETE)."""

    NONE = "NONE", "None"
    READ = "READ", "Read"
    WRITE = "WRITE", "Write"
    DELETE = "DELETE", "Delete"


class Role(models.Model):
    """A ``_llana_role`` row: what a role may do on every table (default row) or on one table (custom row)."""

    custom = models.BooleanField(default=False, help_text="A custom row applies to one table; a default row to all.")
    table = models.CharField(max_length=255, null=True, blank=True, help_text="The table of a custom row.")
    identity_column = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        help_text="Column holding the owner's identity for own_records (may follow relations: customer__user).",
    )
    role = models.CharField(max_length=255)
    records = models.CharField(max_length=6, choices=AccessLevel.choices)
    own_records = models.CharField(max_length=6, choices=AccessLevel.choices, null=True, blank=True)
    allowed_fields = models.CharField(max_length=1020, null=True, blank=True)

    class Meta:
        db_table = "_llana_role"
        ordering = ["id"]

    def __str__(self) -> str:
        scope = self.table if self.custom else "all tables"
        return f"{self.role} on {scope}: {self.records}"


class PublicTable(models.Model):
    """A ``_llana_public_tables`` row: a table anyone may access up to ``access_level``."""

    table = models.CharField(max_length=255)
    access_level = models.CharField(
        max_length=6, choices=[c for c in AccessLevel.choices if c[0] != AccessLevel.NONE]
    )
    allowed_fields = models.CharField(max_length=1020, null=True, blank=True)

    class Meta:
        db_table = "_llana_public_tables"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.table}: public {self.access_level}"


class Relation(models.Model):
    """A ``_llana_relation`` row: a manual relation ``table.column = org_table.org_column``."""

    table = models.CharField(max_length=255)
    column = models.CharField(max_length=255)
    org_table = models.CharField(max_length=255)
    org_column = models.CharField(max_length=255)

    class Meta:
        db_table = "_llana_relation"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.table}.{self.column} = {self.org_table}.{self.org_column}"
