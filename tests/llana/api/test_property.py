"""Property tests: random query strings on the list endpoint never give a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llana.api.query import OPERATORS, RESERVED

pytestmark = pytest.mark.django_db

COLUMNS = [
    "orderId",
    "custId",
    "employeeId",
    "freight",
    "shipName",
    "orderDate",
    "deletedAt",
    "nope",
    "Customer.city",
    "",
]
WORDS = [*OPERATORS, "between", "", "gt]", "["]
VALUES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        [
            "2024-01-05",
            "2024-13-45",
            "2024-01-05T10:00:00Z",
            "true",
            "null",
            "%",
            "_",
            "\\",
            ",",
            "a,b",
            "eyJsaW1pdCI6MjAsIm9mZnNldCI6MH0=",
            "W10=",
            "e30=",
            "orderId.asc",
            "freight.desc,shipName.asc",
            "Customer",
            "Customer,Employee",
            "Customer.city",
            "-1",
            "0",
            "1000000000000000000000",
        ]
    ),
)


@st.composite
def keys(draw: Any) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(sorted(RESERVED)))
    column = draw(st.sampled_from(COLUMNS))
    if kind == 1:
        return column
    if kind == 2:
        return f"{column}[{draw(st.sampled_from(WORDS))}]"
    return draw(st.text(st.characters(codec="utf-8"), max_size=12))


QUERIES = st.lists(st.tuples(keys(), VALUES), max_size=6)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(params=QUERIES)
def test_list_never_500(open_api: Any, demo: Any, params: list[tuple[str, str]]) -> None:
    query = "&".join(f"{quote(key, safe='[]')}={quote(value)}" for key, value in params)
    response = open_api.get(f"/SalesOrder/?{query}")
    assert response.status_code in (200, 400, 403), (query, response.content)
    body = response.json()
    if response.status_code == 200:
        assert body["total"] >= len(body["data"])
    else:
        assert body["statusCode"] == response.status_code
        assert body["message"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pk=st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=20), params=QUERIES)
def test_get_one_never_500(open_api: Any, demo: Any, pk: str, params: list[tuple[str, str]]) -> None:
    query = "&".join(f"{quote(key, safe='[]')}={quote(value)}" for key, value in params)
    response = open_api.get(f"/SalesOrder/{quote(pk, safe='')}?{query}")
    assert response.status_code in (200, 400, 403, 404), (pk, query, response.content)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
FIELDS = st.sampled_from(
    ["companyName", "userId", "city", "custId", "email", "createdAt", "deletedAt", "nope", "phone"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    body=st.one_of(
        st.dictionaries(FIELDS, JSON, max_size=5), st.lists(st.dictionaries(FIELDS, JSON, max_size=4), max_size=3), JSON
    ),
    method=st.sampled_from(["post", "patch", "put", "delete"]),
    one=st.booleans(),
)
def test_writes_never_500(open_api: Any, demo: Any, body: Any, method: str, one: bool) -> None:
    url = f"/Customer/{demo.customers[0].pk}" if one and method != "post" else "/Customer/"
    response = getattr(open_api, method)(url, body, content_type="application/json")
    assert response.status_code < 500, (method, url, body, response.content)
    assert response.json()
