"""Llana's system tables: roles, public tables, manual relations and API keys (``docs/auth.md``, ``docs/rest-api.md``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


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
    access_level = models.CharField(max_length=6, choices=[c for c in AccessLevel.choices if c[0] != AccessLevel.NONE])
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


class ApiKeyManager(models.Manager["ApiKey"]):
    def create_key(
        self,
        user: Any,
        name: str = "",
        *,
        expires: datetime | None = None,
        key: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key for ``user``; returns the row and the plaintext (shown once, stored only hashed).

        ``key`` sets the plaintext (e.g. the demo's Llana key); by default a random one is generated.
        """
        plaintext = key or generate_api_key()
        row = self.create(
            user=user,
            name=name,
            prefix=plaintext[:12],
            key_hash=hash_api_key(plaintext),
            expires=expires,
        )
        return row, plaintext

    def get_by_plaintext(self, plaintext: str) -> ApiKey | None:
        return self.select_related("user").filter(key_hash=hash_api_key(plaintext)).first()


def generate_api_key() -> str:
    """A new random key: ``llana_`` + 40 URL-safe characters (about 240 bits)."""
    return "llana_" + secrets.token_urlsafe(30)


def unusable_key_hash() -> str:
    """A value no key hashes to (not hex): rows created without a key (e.g. through the REST API) are inert."""
    return "!" + secrets.token_hex(31)


def hash_api_key(plaintext: str) -> str:
    """SHA-256 hex of a key. Keys are long random strings, so a fast unsalted hash is enough to look
    them up by value without storing them (as GitHub and Stripe do for API tokens)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class ApiKey(models.Model):
    """A ``_llana_api_key`` row: one API key of a user, stored hashed (Llana's ``UserApiKey``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="llana_api_keys")
    name = models.CharField(max_length=255, blank=True, default="")
    prefix = models.CharField(max_length=12, editable=False, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False, default=unusable_key_hash)
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked = models.BooleanField(default=False)

    objects = ApiKeyManager()

    # Never shown by the API (llana.registry): the hash is a secret too.
    LLANA_HIDDEN_FIELDS = ("key_hash",)
    # A USER managing its own keys through the API (seeded own-records role) may rename a key or
    # revoke it, nothing else: keys are created by llana_create_api_key or the admin (llana.permissions.engine).
    LLANA_OWNER_READONLY_FIELDS = ("key_hash", "prefix", "created", "last_used", "expires")
    LLANA_OWNER_ONE_WAY_FIELDS = {"revoked": True}

    class Meta:
        db_table = "_llana_api_key"
        ordering = ["id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()
