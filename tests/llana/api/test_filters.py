"""Filters ``column[operator]=value`` (``docs/rest-api.md``): every operator, value parsing, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from llana.api.query import like_pattern

pytestmark = pytest.mark.django_db


def ids(client: Any, table: str, query: str, key: str) -> list[Any]:
    response = client.get(f"/{table}/?{query}&limit=100")
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["data"]]


def names(client: Any, query: str) -> list[str | None]:
    return ids(client, "SalesOrder", query, "shipName")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("shipName=Around", ["Around"]),
        ("shipName[equals]=Around", ["Around"]),
        ("shipName[not_equals]=Around", ["Destination JPAIY", "Ship_100%", "Destination QHWKI"]),
        ("freight[lt]=12.5", ["Destination QHWKI"]),
        ("freight[lte]=12.5", ["Ship_100%", "Destination QHWKI"]),
        ("freight[gt]=58.17", ["Around"]),
        ("freight[gte]=58.17", ["Destination JPAIY", "Around"]),
        ("shipName[like]=Destination%", ["Destination JPAIY", "Destination QHWKI"]),
        ("shipName[like]=destination%", ["Destination JPAIY", "Destination QHWKI"]),
        ("shipName[like]=%ION_Q%", ["Destination QHWKI"]),
        ("shipName[like]=Ship\\_100\\%", ["Ship_100%"]),
        ("shipName[like]=Ship_100_", ["Ship_100%"]),
        ("shipName[not_like]=Dest%", ["Ship_100%", "Around"]),
        ("shipName[in]=Around, Ship_100%", ["Ship_100%", "Around"]),
        ("shipName[not_in]=Around,Ship_100%", ["Destination JPAIY", "Destination QHWKI"]),
        ("shipName[null]", [None]),
        ("shipName[null]=whatever", [None]),
        ("freight[not_null]=", ["Destination JPAIY", "Ship_100%", "Destination QHWKI", "Around"]),
        ("shipName[search]=tion q", ["Destination QHWKI"]),
        ("shipName[search]=100%", ["Ship_100%"]),
        ("shipName[search]=_", ["Ship_100%"]),
        ("orderDate[gte]=2024-02-01", ["Ship_100%", "Around"]),
        ("orderDate[lt]=2024-01-05T11:00:00Z", ["Destination JPAIY"]),
        ("orderDate[gt]=2024-01-05T10:30:00+01:00", ["Destination JPAIY", "Ship_100%", "Around"]),
        ("freight[gt]=10&freight[lt]=100", ["Destination JPAIY", "Ship_100%"]),
        ("shipName[like]=%!%", []),
    ],
)
def test_operators(open_api: Any, demo: Any, query: str, expected: list[Any]) -> None:
    encoded = "&".join(
        f"{key}={quote(value)}" if sep else key for key, sep, value in (p.partition("=") for p in query.split("&"))
    )
    assert names(open_api, encoded) == expected


def test_foreign_key_column_filters(open_api: Any, demo: Any) -> None:
    cust = demo.customers[0].pk
    assert names(open_api, f"custId={cust}") == ["Destination JPAIY", "Ship_100%"]
    assert names(open_api, f"custId[in]={cust},{demo.customers[2].pk}") == ["Destination JPAIY", "Ship_100%", "Around"]
    assert names(open_api, "custId[null]") == [None]


def test_boolean_and_enum_filters(open_api: Any, demo: Any) -> None:
    assert ids(open_api, "User", "is_active=true", "email") == ["admin@test.com", "user@test.com"]
    assert ids(open_api, "User", "is_active=0", "email") == []
    assert ids(open_api, "User", "role=ADMIN", "email") == ["admin@test.com"]
    assert ids(open_api, "User", "role[in]=ADMIN,USER", "email") == ["admin@test.com", "user@test.com"]


def test_date_only_on_datetime_and_not_equals_excludes_null(open_api: Any, demo: Any) -> None:
    assert names(open_api, "orderDate[not_equals]=2024-03-01") == ["Destination JPAIY", "Ship_100%"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("nope=1", "Column nope not found in schema (parameter nope)"),
        ("nope[gt]=1", "Column nope not found in schema (parameter nope[gt])"),
        ("freight[between]=1", "Unknown operator between in parameter freight[between]"),
        ("freight[gt=1", "Invalid filter parameter freight[gt"),
        ("freight[gt]x=1", "Invalid filter parameter freight[gt]x"),
        ("freight=abc", "freight must be a number (parameter freight)"),
        ("freight[in]=1,abc", "freight must be a number (parameter freight[in])"),
        ("orderId=1.5", "orderId must be a number (parameter orderId)"),
        ("orderId=99999999999999999999", "orderId must be a number between"),
        ("orderDate=yesterday", "orderDate must be a valid ISO 8601 date string (parameter orderDate)"),
        ("orderDate=2024-13-01", "orderDate must be a valid ISO 8601 date string"),
        ("freight[like]=1%", "Operator like is not supported on column freight"),
        ("freight[search]=1", "Operator search is not supported on column freight"),
        ("shipName=a%00b", "shipName must not contain NUL characters"),
        ("Customer.city=Berlin", "Column Customer.city not found in schema"),
    ],
)
def test_filter_errors_name_the_parameter(open_api: Any, demo: Any, query: str, fragment: str) -> None:
    response = open_api.get(f"/SalesOrder/?{query}")
    assert response.status_code == 400, response.content
    assert fragment in response.json()["message"]


def test_boolean_filter_errors(open_api: Any, demo: Any) -> None:
    response = open_api.get("/User/?is_active=yes")
    assert response.status_code == 400
    assert "is_active must be a boolean value" in response.json()["message"]


def test_binary_only_null_operators(open_api: Any, demo: Any) -> None:
    assert ids(open_api, "Employee", "photo[not_null]", "lastName") == ["Fuller"]
    assert open_api.get("/Employee/?photo=abc").status_code == 400


def test_repeated_key_is_400(open_api: Any, demo: Any) -> None:
    response = open_api.get("/SalesOrder/?shipName=a&shipName=b")
    assert response.status_code == 400
    assert response.json()["message"] == "Parameter shipName given more than once"
    assert open_api.get("/SalesOrder/?limit=1&limit=2").status_code == 400


def test_reserved_parameters_are_not_filters(open_api: Any, demo: Any, settings: Any) -> None:
    assert len(names(open_api, "hard=true&_=12345&join=x")) == 5
    settings.LLANA = {**settings.LLANA, "API_KEY_LOCATION": "QUERY", "API_KEY_NAME": "apikey"}
    assert open_api.get("/SalesOrder/?apikey=whatever").status_code != 400  # never a filter error
    settings.LLANA = {**settings.LLANA, "API_KEY_LOCATION": "HEADER"}
    assert open_api.get("/SalesOrder/?apikey=whatever").status_code == 400


def test_uuid_and_json_values_parse() -> None:
    # Unit-level: the parsers of column types absent from the demo tables.
    import uuid

    from django.db import models

    from llana.api.convert import parse_query_value
    from llana.registry import make_column

    u = models.UUIDField(name="u")
    u.set_attributes_from_name("u")
    col = make_column(u, hidden=False)
    value = uuid.uuid4()
    assert parse_query_value(col, str(value)) == value
    with pytest.raises(ValueError, match="u must be a UUID"):
        parse_query_value(col, "nope")
    j = models.JSONField(name="j")
    j.set_attributes_from_name("j")
    jcol = make_column(j, hidden=False)
    assert parse_query_value(jcol, '{"a": 1}') == {"a": 1}
    assert parse_query_value(jcol, "plain") == "plain"


@pytest.mark.parametrize(
    ("value", "pattern"),
    [("%a_b%", "%a_b%"), ("100\\%", "100!%"), ("a\\_b", "a!_b"), ("wow!", "wow!!"), ("end\\", "end\\"), ("\\\\", "\\")],
)
def test_like_pattern(value: str, pattern: str) -> None:
    assert like_pattern(value) == pattern


def test_like_quoting_in_url(open_api: Any, demo: Any) -> None:
    assert names(open_api, "shipName[like]=" + quote("%100%")) == ["Ship_100%"]
