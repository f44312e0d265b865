"""Writing rows through model instances: body → instance, ``full_clean()``, ``save()`` / ``delete()``.

Every write goes through the model so that validation, uniqueness and Django signals (``post_save``,
``post_delete``: once per row) behave as in any Django code. Each item runs in its own transaction.
Soft deletes set ``SOFT_DELETE_COLUMN`` and send ``llana.signals.soft_deleted``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from llana.api.convert import parse_body_value, parse_query_value
from llana.exceptions import BadRequest, RecordNotFound
from llana.registry import Column, Table
from llana.signals import soft_deleted

logger = logging.getLogger(__name__)


def message_of(errors: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{key}: {' '.join(msgs)}" if key != NON_FIELD_ERRORS else " ".join(msgs) for key, msgs in errors.items()
    )


def invalid(errors: dict[str, list[str]]) -> BadRequest:
    return BadRequest(message_of(errors), errors)


def parse_pk(table: Table, value: Any) -> Any:
    """A primary-key value from the URL or a body. Raises BadRequest naming the pk."""
    try:
        if isinstance(value, str):
            return parse_query_value(table.pk, value)
        return parse_body_value(table.pk, value)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def body_column(table: Table, key: str) -> Column | None:
    return table.columns.get(key) or table.hidden.get(key)


MANY_TO_MANY_READ_ONLY = "A many-to-many relation is read-only in the API (set the links in Django)"


def many_to_many(table: Table, key: str) -> bool:
    """``key`` names a many-to-many relation of ``table`` (its relation name or its model field)."""
    if body_column(table, key) is not None:
        return False
    relation = table.relations.get(key)
    if relation is not None and relation.through is not None:
        return True
    return any(r.through is not None and r.field == key for r in table.relations.values())


def check_item(table: Table, item: Any) -> dict[str, Any]:
    """The item must be an object whose keys are all columns of the table."""
    if not isinstance(item, dict):
        raise BadRequest("Each item must be a JSON object")
    linked = {key: [MANY_TO_MANY_READ_ONLY] for key in item if isinstance(key, str) and many_to_many(table, key)}
    if linked:
        raise BadRequest(", ".join(f"{key}: {MANY_TO_MANY_READ_ONLY}" for key in linked), linked)
    unknown = {key: ["Unknown column"] for key in item if not isinstance(key, str) or body_column(table, key) is None}
    if unknown:
        raise BadRequest(", ".join(f"Unknown column: {key}" for key in unknown), unknown)
    return item


def is_password(instance: models.Model, column: Column) -> bool:
    return column.hidden and column.attname == "password" and hasattr(instance, "set_password")


CURRENT_PASSWORD = "currentPassword"


def split_current_password(table: Table, item: Any) -> tuple[Any, Any]:
    """``item`` without the ``currentPassword`` key (user tables only), and that key's value."""
    if isinstance(item, dict) and CURRENT_PASSWORD in item and hasattr(table.model, "check_password"):
        item = dict(item)
        return item, item.pop(CURRENT_PASSWORD)
    return item, None


def check_own_password_change(
    table: Table, instance: models.Model, item: dict[str, Any], caller: Any, current: Any
) -> None:
    """Changing one's own password needs the current one in ``currentPassword`` (400 otherwise), so a
    stolen token can't lock the owner out; changing another user's password (an admin) does not."""
    if caller is None or getattr(caller, "pk", None) is None or type(instance) is not type(caller):
        return
    if instance.pk != caller.pk:
        return
    if not any((c := body_column(table, key)) is not None and is_password(instance, c) for key in item):
        return
    if not isinstance(current, str) or not current:
        message = "Required to change your own password"
        raise BadRequest(f"{CURRENT_PASSWORD}: {message}", {CURRENT_PASSWORD: [message]})
    if not instance.check_password(current):  # type: ignore[attr-defined]
        raise BadRequest(f"{CURRENT_PASSWORD}: Incorrect password", {CURRENT_PASSWORD: ["Incorrect password"]})


def apply_item(table: Table, instance: models.Model, item: dict[str, Any], creating: bool) -> dict[str, list[str]]:
    """Set the item's values on ``instance`` (converted per column); returns the problems by column."""
    errors: dict[str, list[str]] = {}
    for key, value in item.items():
        column = body_column(table, key)
        assert column is not None  # check_item() ran
        if column.primary_key:
            if creating and column.auto:
                if value is not None:
                    errors[key] = [f"{key} is generated by the database and cannot be set"]
                continue
            if not creating:
                try:
                    same = parse_pk(table, value) == instance.pk
                except BadRequest:
                    same = False
                if not same:
                    errors[key] = [f"{key} cannot be changed"]
                continue
        if is_password(instance, column):
            if not isinstance(value, str) or not value:
                errors[key] = [f"{key} must be a non-empty string"]
            else:
                instance.set_password(value)  # type: ignore[attr-defined]
            continue
        try:
            setattr(instance, column.attname, parse_body_value(column, value))
        except ValueError as error:
            errors[key] = [str(error)]
    return errors


def clean(table: Table, instance: models.Model, errors: dict[str, list[str]]) -> None:
    """``full_clean()`` (skipping columns that already failed); raises BadRequest listing every problem."""
    skip = [c.field.name for key in errors if (c := table.columns.get(key) or table.hidden.get(key)) is not None]
    try:
        instance.full_clean(exclude=skip)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            key = name
            if name != NON_FIELD_ERRORS:
                try:
                    key = table.model._meta.get_field(name).column or name  # type: ignore[union-attr]
                except Exception:
                    key = name
            errors.setdefault(key, []).extend(str(m) for m in messages)
    if errors:
        raise invalid(errors)


def save(table: Table, instance: models.Model, creating: bool, errors: dict[str, list[str]]) -> None:
    """Validate (adding to ``errors``) and save in one transaction. DB errors become a 400 (logged)."""
    try:
        with transaction.atomic(using=instance._state.db):
            clean(table, instance, errors)
            instance.save(force_insert=creating)
    except DatabaseError:
        logger.exception("Database error writing to table %s", table.name)
        raise BadRequest("Error creating record" if creating else "Error updating record") from None


def find(table: Table, qs: Any, pk: Any) -> models.Model:
    instance = qs.filter(pk=pk).first()
    if instance is None:
        raise RecordNotFound(pk)
    return instance


def soft_delete_value(column: Column) -> Any:
    f = column.field
    now = timezone.now()
    if isinstance(f, models.DateTimeField):
        return now
    if isinstance(f, models.DateField):
        return now.date()
    if isinstance(f, models.CharField | models.TextField):
        return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return now


def delete(table: Table, instance: models.Model, hard: bool) -> None:
    """Soft delete (tables with the column, unless ``hard``) or delete. Errors become a 400."""
    try:
        with transaction.atomic(using=instance._state.db):
            if table.soft_delete is not None and not hard:
                setattr(instance, table.soft_delete.attname, soft_delete_value(table.soft_delete))
                instance._llana_soft_deleted = True  # type: ignore[attr-defined]  # lets post_save receivers tell
                instance.save(update_fields=[table.soft_delete.attname])
                soft_deleted.send(sender=type(instance), instance=instance)
            else:
                instance.delete()
    except (ProtectedError, RestrictedError):
        raise BadRequest("Record cannot be deleted: other records reference it") from None
    except DatabaseError:
        logger.exception("Database error deleting from table %s", table.name)
        raise BadRequest("Error deleting record") from None
