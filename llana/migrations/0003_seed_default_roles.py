"""Seed Llana's default roles (``docs/auth.md``) into an empty ``_llana_role``.

ADMIN: DELETE on every table. USER: READ on every table (system tables excepted, see
``LLANA["SYSTEM_TABLE_ROLES"]``), and own-records WRITE on the user table and on ``_llana_api_key``.
Skipped when ``LLANA["SEED_DEFAULT_ROLES"]`` is False. The Employee public READ seed belongs to the demo.
"""

from django.conf import settings
from django.db import migrations


def seed(apps, schema_editor):
    if not getattr(settings, "LLANA", {}).get("SEED_DEFAULT_ROLES", True):
        return
    Role = apps.get_model("llana", "Role")
    db = schema_editor.connection.alias
    if Role.objects.using(db).exists():
        return
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    Role.objects.using(db).bulk_create(
        [
            Role(custom=False, role="ADMIN", records="DELETE"),
            Role(custom=False, role="USER", records="READ"),
            Role(custom=True, table=user_model._meta.db_table, role="USER", records="NONE", own_records="WRITE"),
            Role(
                custom=True,
                table="_llana_api_key",
                identity_column="user_id",
                role="USER",
                records="NONE",
                own_records="WRITE",
            ),
        ]
    )


def unseed(apps, schema_editor):
    # Leave roles in place: they may have been edited since.
    pass


class Migration(migrations.Migration):

    dependencies = [
        ("llana", "0002_api_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(seed, unseed)]
