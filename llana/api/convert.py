"""Value conversion between the API and the ORM, per column.

- ``output_converter(column)``: database value → JSON value (decimals as numbers, datetimes ISO-8601
  UTC with ``Z``, binary as base64, UUIDs as strings). List rows are built from ``values_list()``
  tuples with these converters, without a per-row serializer object (see ``RowBuilder``).
- ``parse_query_value(column, text)``: a query-string value → a Python value of the column's type.
- ``parse_body_value(column, value)``: a JSON body value → a Python value of the column's type.

Both parsers raise ``ValueError`` with a message naming the column.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.dateparse import (
    parse_date,
    parse_datetime,
    parse_duration,
    parse_time,
)
from django.utils.duration import duration_iso_string

from llana.registry import Column

Converter = Callable[[Any], Any]
_T = TypeVar("_T")
INT_RE = re.compile(r"^[+-]?\d{1,30}$")
TRUE_TEXT = {"true", "1"}
FALSE_TEXT = {"false", "0"}


# --- output ------------------------------------------------------------------------------------------


def _datetime(value: dt.datetime) -> str:
    if timezone.is_aware(value):
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _decimal(value: decimal.Decimal) -> float | int | None:
    if not value.is_finite():
        return None
    if value == value.to_integral_value() and value.adjusted() < 15:
        return int(value)
    return float(value)


def _float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _binary(value: bytes | memoryview) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _isoformat(value: dt.date | dt.time) -> str:
    return value.isoformat()


# The JSON form of a database value, by field class, first match wins (DateTimeField before DateField).
OUTPUT_CONVERTERS: tuple[tuple[type[models.Field] | tuple[type[models.Field], ...], Converter], ...] = (
    (models.DateTimeField, _datetime),
    ((models.DateField, models.TimeField), _isoformat),
    (models.DecimalField, _decimal),
    (models.FloatField, _float),
    (models.BinaryField, _binary),
    ((models.UUIDField, models.FileField), str),
    (models.DurationField, duration_iso_string),
)


def output_converter(column: Column) -> Converter | None:
    """A function turning a non-null DB value of ``column`` into a JSON value (None: keep as is)."""
    return next((convert for kind, convert in OUTPUT_CONVERTERS if isinstance(column.target, kind)), None)


class RowBuilder:
    """Turns value tuples (aligned with ``columns``) into API dicts."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.names = [c.name for c in columns]
        converters = [(i, output_converter(c)) for i, c in enumerate(columns)]
        self.converters = [(i, conv) for i, conv in converters if conv is not None]

    def __call__(self, values: Sequence[Any]) -> dict[str, Any]:
        row = dict(zip(self.names, values, strict=False))
        for i, conv in self.converters:
            value = values[i]
            if value is not None:
                row[self.names[i]] = conv(value)
        return row


def instance_values(instance: models.Model, columns: Sequence[Column]) -> list[Any]:
    return [getattr(instance, c.attname) for c in columns]


def instance_row(instance: models.Model, columns: Sequence[Column]) -> dict[str, Any]:
    """The API dict of a model instance, limited to ``columns``."""
    return RowBuilder(columns)(instance_values(instance, columns))


# --- parsing -----------------------------------------------------------------------------------------


def _int(column: Column, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{column.name} must be a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and INT_RE.match(value.strip()):
        number = int(value.strip())
    else:
        raise ValueError(f"{column.name} must be a number")
    low, high = connection.ops.integer_field_range(column.target.get_internal_type())
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{column.name} must be a number between {low} and {high}")
    return number


def _finite_number(column: Column, value: Any) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{column.name} must be a number")
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{column.name} must be a number") from None
    if not number.is_finite() or abs(number.adjusted()) > 100:
        raise ValueError(f"{column.name} must be a finite number")
    return number


def _bool(column: Column, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
    raise ValueError(f"{column.name} must be a boolean value (true, false, 1 or 0)")


def _date_message(column: Column) -> str:
    return f"{column.name} must be a valid ISO 8601 date string"


def _date_text(
    column: Column, value: Any, parse: Callable[[str], _T | None], fallback: Callable[[str], _T | None]
) -> _T:
    """``parse(text)``, else ``fallback(text)``; a ``ValueError`` naming the column when neither parses."""
    if not isinstance(value, str):
        raise ValueError(_date_message(column))
    text = value.strip()
    try:
        parsed = parse(text)
        if parsed is None:
            parsed = fallback(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(_date_message(column))
    return parsed


def _midnight(text: str) -> dt.datetime | None:
    day = parse_date(text)
    return dt.datetime.combine(day, dt.time()) if day is not None else None


def _day(text: str) -> dt.date | None:
    moment = parse_datetime(text)
    return moment.date() if moment is not None else None


def _datetime_value(column: Column, value: Any) -> dt.datetime:
    parsed = _date_text(column, value, parse_datetime, _midnight)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.timezone.utc)  # no zone given: UTC
    try:
        utc = parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError(_date_message(column)) from None
    return parsed if settings.USE_TZ else utc.replace(tzinfo=None)


def _date_value(column: Column, value: Any) -> dt.date:
    return _date_text(column, value, parse_date, _day)


def _time_value(column: Column, value: Any) -> dt.time:
    try:
        parsed = parse_time(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"{column.name} must be a valid ISO 8601 time string")
    return parsed


def _uuid(column: Column, value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise ValueError(f"{column.name} must be a UUID") from None


def _duration(column: Column, value: Any) -> dt.timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return dt.timedelta(seconds=value)
    parsed = parse_duration(value.strip()) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"{column.name} must be a duration (ISO 8601 or [DD] [HH:[MM:]]ss)")
    return parsed


def _text(column: Column, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{column.name} must be a string")
    if "\x00" in value:
        raise ValueError(f"{column.name} must not contain NUL characters")
    return value


def _typed(column: Column, value: Any) -> Any:
    f = column.target
    if isinstance(f, models.BooleanField):
        return _bool(column, value)
    if isinstance(f, models.IntegerField | models.AutoField):
        return _int(column, value)
    if isinstance(f, models.DecimalField):
        return _finite_number(column, value)
    if isinstance(f, models.FloatField):
        return float(_finite_number(column, value))
    if isinstance(f, models.DateTimeField):
        return _datetime_value(column, value)
    if isinstance(f, models.DateField):
        return _date_value(column, value)
    if isinstance(f, models.TimeField):
        return _time_value(column, value)
    if isinstance(f, models.UUIDField):
        return _uuid(column, value)
    if isinstance(f, models.DurationField):
        return _duration(column, value)
    return _text(column, value)


def parse_query_value(column: Column, text: str) -> Any:
    """A query-string value for a filter on ``column``. Raises ValueError naming the column."""
    if isinstance(column.target, models.JSONField):
        _text(column, text)
        try:
            return json.loads(text)
        except ValueError:
            return text
    if isinstance(column.target, models.BinaryField):
        raise ValueError(f"{column.name} cannot be compared (binary column)")
    return _typed(column, text)


def parse_body_value(column: Column, value: Any) -> Any:
    """A JSON body value for ``column``, converted to the field's Python type. Raises ValueError."""
    if value is None:
        return None
    f = column.target
    if isinstance(f, models.JSONField):
        if "\x00" in json.dumps(value):
            raise ValueError(f"{column.name} must not contain NUL characters")
        return value
    if isinstance(f, models.BinaryField):
        if not isinstance(value, str):
            raise ValueError(f"{column.name} must be a base64 string")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{column.name} must be a base64 string") from None
    if (
        isinstance(f, models.CharField | models.TextField)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        value = str(value)
    return _typed(column, value)
