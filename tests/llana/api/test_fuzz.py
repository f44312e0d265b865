"""Fuzz: hostile input over every REST list parameter, JSON and raw bodies, and the auth endpoints.

Every answer must be below 500, and every 4xx Llana's JSON error body (``docs/security.md``, "Input limits"). The
tests together send ``LLANA_FUZZ_EXAMPLES`` requests (default 4,000 per run, about 30 s), split by
``SHARES``, and count them. The inputs come from a fixed seed per database vendor (``LLANA_FUZZ_SEED``
overrides it): every run on a database tries the same inputs, and CI's three runs (SQLite, PostgreSQL,
MariaDB) try 12,000 different ones. The limits are lowered for the run (``FUZZ_LLANA``) so that bodies,
bulks, depths and parameter counts cross them cheaply.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import string
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from llana.api.query import OPERATORS, RESERVED
from llana.auth.tokens import tokens_for_user
from llana.registry import clear_registry, get_table
from tests.llana.auth_support import PASSWORD

pytestmark = pytest.mark.django_db

TOTAL = int(os.environ.get("LLANA_FUZZ_EXAMPLES", "4000"))
SHARES = {"list": 0.4, "one": 0.08, "bodies": 0.25, "raw": 0.07, "auth": 0.2}
assert abs(sum(SHARES.values()) - 1) < 1e-9


def examples(name: str) -> int:
    return max(1, round(TOTAL * SHARES[name]))


FUZZ_LLANA = {
    "SOFT_DELETE_COLUMN": "deletedAt",
    "DEFAULT_LIMIT": 20,
    "MAX_LIMIT": 100,
    "MAX_BODY_BYTES": 4096,
    "MAX_BULK_ITEMS": 4,
    "MAX_JSON_DEPTH": 6,
}
MAX_FIELDS = 25  # DATA_UPLOAD_MAX_NUMBER_FIELDS for the run
TABLES = ["SalesOrder", "Customer", "User", "Employee", "_llana_role", "_llana_public_tables"]

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture
def fuzz(settings: Any, demo: Any) -> Any:
    settings.LLANA = dict(FUZZ_LLANA)
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = MAX_FIELDS
    clear_registry()
    yield demo
    clear_registry()


def fuzz_seed(name: str) -> int:
    """A fixed seed per test and database vendor (``sqlite``, ``postgresql``, ``mysql``), or LLANA_FUZZ_SEED."""
    base = os.environ.get("LLANA_FUZZ_SEED") or connection.vendor
    return zlib.crc32(f"{base}:{name}".encode())


def run(name: str, test: Callable[..., None], *strategies: Any, requests: int = 1) -> None:
    """Run ``test`` (which sends ``requests`` requests per input) until ``examples(name)`` requests were
    sent; fail if fewer were."""
    count = 0

    @seed(fuzz_seed(name))
    @settings(FUZZ_SETTINGS, max_examples=-(-examples(name) // requests))
    @given(st.tuples(*strategies))
    def each(args: tuple[Any, ...]) -> None:
        nonlocal count
        count += requests
        test(*args)

    each()
    assert count >= examples(name)


def check(response: Any, context: Any) -> None:
    """Below 500; a 4xx is Llana's JSON error body; a 2xx is JSON."""
    status = response.status_code
    assert status < 500, (context, response.content[:500])
    if status == 204:
        return
    assert response["Content-Type"].startswith("application/json"), (context, status, response.content[:300])
    body = json.loads(response.content)
    if status >= 400:
        assert body["statusCode"] == status, (context, body)
        assert isinstance(body["message"], str | list | dict), (context, body)
        assert body["message"], (context, body)


# --- strategies ----------------------------------------------------------------------------------

# Most values come from a corpus of known-nasty strings (one draw each: cheap, so the run stays fast);
# one in four is generated text, lone surrogates included.
NASTY = [
    *["", " ", "%", "_", "\\", ",", ".", "*", "[", "]", "{}", "[]", "null", "true", "false", "undefined"],
    *["\x00", "%00", "\n", "\t", " a ", "a,b", ",,", "é", "ß", "İ", "ǅ", "𝟘", "①", "²", "١٢", "\u202e", "\ufeff"],
    *["\ud800", "a\udfffb", "\udbff\udc00", "\U0001f600", "'; DROP TABLE x;--", '"', "\\u0000", "../../etc"],
    *["--1", "+-5", "-+5", "1e3", "0x10", " 3 ", "+7", "-0", "9" * 30, "1.5", "NaN", "Infinity", "-1", "0", "1"],
    *["2024-01-05", "2024-13-45", "2024-01-05T10:00:00Z", "10:00", "Customer", "Customer.city", "x" * 300],
    *["eyJsaW1pdCI6MjAsIm9mZnNldCI6MH0=", "W10=", "e30=", "orderId.asc", "freight.desc,shipName.asc"],
]
CORPUS = st.sampled_from(NASTY)
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
TEXT = st.one_of(CORPUS, CORPUS, CORPUS, st.text(st.one_of(st.characters(codec="utf-8"), SURROGATES), max_size=8))
NUMBERS = st.one_of(CORPUS, st.integers(-(10**25), 10**25).map(str), st.floats().map(str))


def page_token(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), TEXT, NUMBERS)
PAGE_TOKENS = st.one_of(
    st.fixed_dictionaries({"limit": SCALARS, "offset": SCALARS}).map(page_token),
    st.dictionaries(st.sampled_from(["limit", "offset", "x"]), SCALARS, max_size=3).map(page_token),
    st.recursive(SCALARS, lambda c: st.lists(c, max_size=2), max_leaves=3).map(page_token),
    st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
    TEXT,
)


@functools.cache
def names(table_name: str) -> st.SearchStrategy[str]:
    """A column of the table, a relation, a related column, a hidden column or junk (built once per table)."""
    table = get_table(table_name)
    assert table is not None
    relations = list(table.relations)
    choices = [*table.columns, *relations, "password", "nope", ""]
    choices += [f"{r}.{c}" for r in relations[:3] for c in ("city", "companyName", "nope", "email", "password")]
    return st.one_of(st.sampled_from(choices), TEXT)


SORT_SUFFIXES = st.sampled_from([".asc", ".desc", "", ".up", "."])
FILTER_OPERATORS = st.sampled_from([*OPERATORS, "between", "", "eq", "gt]"])
FILTER_VALUES = st.one_of(TEXT, NUMBERS, st.lists(TEXT, max_size=3).map(",".join))
RESERVED_NAMES = st.sampled_from(sorted(RESERVED))
LIMIT_OR_OFFSET = st.sampled_from(["limit", "offset"])


@st.composite
def list_params(draw: Any, table_name: str) -> list[tuple[str, str]]:
    """Query parameters: filters with every operator, fields, relations, sort, limit, offset, page, junk."""
    params: list[tuple[str, str]] = []
    name = names(table_name)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            params.append(("fields", ",".join(draw(st.lists(name, max_size=4)))))
        elif kind == 1:
            params.append(("relations", ",".join(draw(st.lists(name, max_size=3)))))
        elif kind == 2:
            params.append(("sort", ",".join(f"{draw(name)}{draw(SORT_SUFFIXES)}" for _ in range(2))))
        elif kind in (3, 4):
            params.append((draw(LIMIT_OR_OFFSET), draw(NUMBERS)))
        elif kind == 5:
            params.append(("page", draw(PAGE_TOKENS)))
        elif kind in (6, 7):
            operator = draw(FILTER_OPERATORS)
            key = f"{draw(name)}[{operator}]" if draw(st.booleans()) else draw(name)
            params.append((key, draw(FILTER_VALUES)))
        elif kind == 8:
            params.append((draw(RESERVED_NAMES), draw(TEXT)))
        else:
            params.append((draw(TEXT), draw(TEXT)))
    if draw(st.integers(0, 30)) == 0:  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
        params += [(f"p{i}", "1") for i in range(MAX_FIELDS + 1)]
    return params


def query_string(params: list[tuple[str, str]]) -> str:
    return "&".join(
        f"{quote(k, safe='[]', errors='surrogatepass')}={quote(v, errors='surrogatepass')}" for k, v in params
    )


@st.composite
def table_and_params(draw: Any) -> tuple[str, list[tuple[str, str]]]:
    table = draw(st.sampled_from(TABLES))
    return table, draw(list_params(table))


# Values of every JSON type, two levels at most (cheap to draw); deep nesting has its own case in json_body().
SCALAR_JSON = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | TEXT
JSON = st.one_of(
    SCALAR_JSON,
    SCALAR_JSON,
    st.lists(SCALAR_JSON, max_size=3),
    st.dictionaries(CORPUS, SCALAR_JSON, max_size=2),
)


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@functools.cache
def row_strategies(table_name: str) -> tuple[st.SearchStrategy[str], st.SearchStrategy[dict[str, Any]]]:
    table = get_table(table_name)
    assert table is not None
    column = st.one_of(st.sampled_from([*table.columns, "password"]), TEXT)
    return column, st.dictionaries(column, st.one_of(JSON, NUMBERS), max_size=5)


NESTING = st.sampled_from([5, 6, 7, 50, 999, 1500, 5000])
NESTING_KIND = st.sampled_from(["list", "dict"])
BIG = st.sampled_from([10, 4000, 5000, 100_000])


@st.composite
def json_body(draw: Any, table_name: str) -> str:
    """A JSON body as text: rows of the table's columns with values of every type, bulks, deep nesting,
    lone surrogates (escaped, as clients send them), big strings, or any JSON."""
    column, row = row_strategies(table_name)
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        body: Any = draw(row)
    elif kind <= 5:
        body = draw(st.lists(row, max_size=6))
    elif kind == 6:
        return nested(draw(NESTING), draw(NESTING_KIND))
    elif kind == 7:
        body = {draw(column): "x" * draw(BIG)}
    elif kind == 8:
        body = draw(st.lists(st.integers(0, 3), min_size=0, max_size=8))
    else:
        body = draw(JSON)
    return json.dumps(body)  # ensure_ascii: a lone surrogate becomes "\udxxx", as a client would send it


@st.composite
def write_request(draw: Any) -> tuple[str, str, str]:
    table = draw(st.sampled_from(TABLES[:4]))
    method = draw(st.sampled_from(["post", "put", "patch", "delete"]))
    path = f"/{table}/"
    if method != "post" and draw(st.booleans()):
        pk = draw(st.one_of(st.integers(-2, 6).map(str), TEXT.map(lambda t: quote(t, safe="", errors="surrogatepass"))))
        path += pk if pk else ""
    return method, path, draw(json_body(table))


RAW_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "application/json; charset=nope",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "",
]


@st.composite
def raw_request(draw: Any) -> tuple[str, str, bytes, str]:
    path = draw(st.sampled_from(["/Customer/", "/SalesOrder/1", "/auth/login", "/auth/refresh", "/auth/logout"]))
    method = "post" if path.startswith("/auth") or path == "/Customer/" else draw(st.sampled_from(["put", "delete"]))
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [
                    b'--xyz\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--xyz--\r\n',
                    b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5000,
                    b"&".join(b"p%d=1" % i for i in range(MAX_FIELDS + 1)),
                    b"username=%ED%A0%80&password=%FF",
                    b'{"username": "\xed\xa0\x80"}',
                    b"\xef\xbb\xbf{}",
                ]
            ),
        )
    )
    return method, path, body, draw(st.sampled_from(RAW_TYPES))


JUNK_TOKENS = ["", "x", "null", "Bearer", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", "..", "%00", "=" * 40]
# what servers pass on: printable ASCII
HEADER_TEXT = st.one_of(
    st.sampled_from(JUNK_TOKENS), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
)
COOKIE_TEXT = st.one_of(
    st.sampled_from(JUNK_TOKENS[:-2]), st.text(st.sampled_from(string.ascii_letters + "._-"), max_size=8)
)
CREDENTIAL = st.one_of(st.sampled_from(["alice@test.com", PASSWORD, "valid-refresh", "valid-access"]), JSON, NUMBERS)


def encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def auth_request(draw: Any) -> tuple[str, str, Any, str, dict[str, str]]:
    """A request to /auth/*: JSON or form bodies with credentials of every type, cookies and headers."""
    path = draw(st.sampled_from(["/auth/login", "/auth/refresh", "/auth/logout", "/auth/profile"]))
    method = "get" if path == "/auth/profile" and draw(st.integers(0, 4)) else "post"
    keys = st.sampled_from(["username", "password", "refresh_token", "x"])
    data = draw(st.dictionaries(keys, CREDENTIAL, max_size=3))
    # a form value is text a client can encode: no lone surrogate
    form = draw(st.integers(0, 3)) == 0 and all(isinstance(v, str) and encodable(v) for v in data.values())
    if form:
        body: Any = {k: v for k, v in data.items() if "\x00" not in v}
        content_type = "form"
    else:
        kind = draw(st.integers(0, 5))
        body = nested(draw(st.sampled_from([7, 999])), "dict") if kind == 0 else json.dumps(data)
        content_type = "application/json"
    header = draw(st.one_of(st.none(), st.sampled_from(["valid-access", "valid-refresh"]), HEADER_TEXT))
    cookie = draw(st.one_of(st.none(), st.sampled_from(["valid-access", "valid-refresh"]), COOKIE_TEXT))
    extra = {"authorization": f"Bearer {header}" if header is not None else None, "cookie": cookie}
    return method, path, body, content_type, {k: v for k, v in extra.items() if v is not None}


# --- tests ---------------------------------------------------------------------------------------


def test_list_parameters(fuzz: Any, client: Client) -> None:
    """Each query as the ADMIN (sees every table and column) and as a USER (the roles engine restricts rows
    and refuses system tables and hidden columns)."""
    callers = [bearer(fuzz.users[0]), bearer(fuzz.users[1])]

    def one(request: tuple[str, list[tuple[str, str]]]) -> None:
        table, params = request
        url = f"/{table}/?{query_string(params)}"
        for caller in callers:
            check(client.get(url, HTTP_AUTHORIZATION=caller), url)

    run("list", one, table_and_params(), requests=2)


def bearer(user: Any) -> str:
    return f"Bearer {tokens_for_user(user)['access_token']}"


def test_get_one(fuzz: Any, client: Client) -> None:
    callers = [bearer(fuzz.users[0]), bearer(fuzz.users[1])]  # ADMIN, USER

    def one(request: tuple[str, list[tuple[str, str]]], pk: str) -> None:
        table, params = request
        url = f"/{table}/{quote(pk, safe='', errors='surrogatepass')}?{query_string(params)}"
        for caller in callers:
            check(client.get(url, HTTP_AUTHORIZATION=caller), url)

    run("one", one, table_and_params(), st.one_of(st.integers(-1, 6).map(str), TEXT.filter(bool)), requests=2)


def test_json_bodies(fuzz: Any, client: Client) -> None:
    """Each body as the ADMIN (it reaches the write path) and as a USER (own records only)."""
    callers = [bearer(fuzz.users[0]), bearer(fuzz.users[1])]

    def one(request: tuple[str, str, str]) -> None:
        method, path, body = request
        for caller in callers:
            response = getattr(client, method)(path, body, content_type="application/json", HTTP_AUTHORIZATION=caller)
            check(response, (method, path, body[:300]))

    run("bodies", one, write_request(), requests=2)


def test_raw_bodies(fuzz: Any, settings: Any, client: Client) -> None:
    settings.LLANA = {**settings.LLANA, "SKIP_AUTH": True}

    def one(request: tuple[str, str, bytes, str]) -> None:
        method, path, body, content_type = request
        response = client.generic(method.upper(), path, body, content_type=content_type)  # bytes sent as they are
        check(response, (method, path, body[:300], content_type))

    run("raw", one, raw_request())


def test_auth_endpoints(fuzz: Any, client: Client) -> None:
    alice = fuzz.users[1]
    alice.set_password(PASSWORD)
    alice.save()
    tokens = tokens_for_user(alice)  # the refresh token works once (rotation), then it is a 401 like any other
    real = {
        "alice@test.com": alice.email,
        "valid-access": tokens["access_token"],
        "valid-refresh": tokens["refresh_token"],
    }

    def one(request: tuple[str, str, Any, str, dict[str, str]]) -> None:
        method, path, body, content_type, extra = request

        def swap(value: Any) -> Any:
            return real.get(value, value) if isinstance(value, str) else value

        headers: dict[str, str] = {}
        if "authorization" in extra:
            headers["HTTP_AUTHORIZATION"] = swap(extra["authorization"].replace("Bearer ", "", 1))
            headers["HTTP_AUTHORIZATION"] = f"Bearer {headers['HTTP_AUTHORIZATION']}"
        client.cookies.clear()
        if "cookie" in extra:
            client.cookies["refreshToken"] = swap(extra["cookie"])
            client.cookies["accessToken"] = swap(extra["cookie"])
        if isinstance(body, dict):
            body = {k: swap(v) for k, v in body.items()}
            response = getattr(client, method)(path, body, **headers)
        else:
            data = json.loads(body) if method == "post" and body.startswith("{") and len(body) < 3000 else None
            if isinstance(data, dict):
                body = json.dumps({k: swap(v) for k, v in data.items()})
            if method == "get":
                response = client.get(path, **headers)
            else:
                response = client.post(path, body, content_type=content_type, **headers)
        check(response, (method, path, body if isinstance(body, dict) else body[:300], extra))

    run("auth", one, auth_request())
