"""List, get-one, schema and /tables: envelopes, typing, fields, relations, pagination (``docs/rest-api.md``)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db.models.signals import post_save

from llana.api.pagination import page_token
from llana.registry import clear_registry
from project.demo.models import Customer, SalesOrder, Shipper

pytestmark = pytest.mark.django_db


def get(client: Any, url: str, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response["Content-Type"].startswith("application/json"), response.content
    return response


def test_list_envelope_and_typing(open_api: Any, demo: Any) -> None:
    response = get(open_api, "/SalesOrder/")
    assert response.status_code == 200
    body = response.json()
    assert (body["limit"], body["offset"], body["total"]) == (20, 0, 5)
    assert body["pagination"]["total"] == 5
    first = body["data"][0]
    assert first["orderId"] == demo.orders[0].pk
    assert first["custId"] == demo.customers[0].pk
    assert first["freight"] == 58.17
    assert isinstance(first["freight"], float)
    assert first["orderDate"] == "2024-01-05T10:30:00Z"
    assert first["deletedAt"] is None
    assert [row["orderId"] for row in body["data"]] == sorted(o.pk for o in demo.orders)
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_collection_url_without_slash_and_item_with_slash(open_api: Any, demo: Any) -> None:
    assert get(open_api, "/Customer").status_code == 200
    assert get(open_api, f"/Customer/{demo.customers[0].pk}/").json()["companyName"] == "Alfreds Futterkiste"


def test_types_binary_boolean_date(open_api: Any, demo: Any) -> None:
    employee = get(open_api, f"/Employee/{demo.employees[1].pk}").json()
    assert base64.b64decode(employee["photo"]) == b"\x00\x01binary"
    nancy = get(open_api, f"/Employee/{demo.employees[0].pk}").json()
    assert nancy["birthDate"] == "1968-12-08T00:00:00Z"
    user = get(open_api, f"/User/{demo.users[0].pk}").json()
    assert user["is_active"] is True


def test_password_never_output(open_api: Any, demo: Any) -> None:
    rows = get(open_api, "/User/").json()["data"]
    assert rows
    assert all("password" not in row for row in rows)
    assert get(open_api, "/User/?fields=password").status_code == 400
    assert get(open_api, "/User/?password=x").status_code == 400
    columns = {c["field"]: c for c in get(open_api, "/User/schema").json()["columns"]}
    assert columns["password"]["write_only"] is True  # listed so a client can create users, never read
    assert columns["email"]["write_only"] is False
    customer = get(open_api, f"/Customer/{demo.customers[0].pk}?relations=User").json()
    assert "password" not in customer["User"][0]


def test_request_id_echo(open_api: Any, demo: Any) -> None:
    body = get(open_api, "/Customer/", **{"x-request-id": "abc-1"}).json()
    assert body["_x_request_id"] == "abc-1"
    one = get(open_api, f"/Customer/{demo.customers[0].pk}", **{"x-request-id": "abc-2"})
    assert one.json()["_x_request_id"] == "abc-2"
    assert one["X-Request-Id"] == "abc-2"
    assert "_x_request_id" not in get(open_api, "/Customer/").json()
    assert get(open_api, "/Customer/schema", **{"x-request-id": "s"}).json()["_x_request_id"] == "s"
    assert get(open_api, "/tables", **{"x-request-id": "t"}).json()["_x_request_id"] == "t"


def test_get_one_missing_is_404(open_api: Any, demo: Any) -> None:
    response = get(open_api, "/Customer/999999")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Record with id 999999 not found"}


def test_get_one_bad_id_is_400(open_api: Any, demo: Any) -> None:
    response = get(open_api, "/Customer/abc")
    assert response.status_code == 400
    assert "custId must be a number" in response.json()["message"]


def test_get_one_ignores_filters(open_api: Any, demo: Any) -> None:
    pk = demo.orders[0].pk
    assert get(open_api, f"/SalesOrder/{pk}?shipName=nothing").json()["orderId"] == pk


def test_fields_only_selected(open_api: Any, demo: Any) -> None:
    rows = get(open_api, "/SalesOrder/?fields=shipName,freight").json()["data"]
    assert rows[0] == {"shipName": "Destination JPAIY", "freight": 58.17}
    one = get(open_api, f"/Customer/{demo.customers[0].pk}?fields=city").json()
    assert one == {"city": "Berlin"}


def test_fields_unknown_is_400(open_api: Any, demo: Any) -> None:
    response = get(open_api, "/Customer/?fields=city,nope")
    assert response.status_code == 400
    assert response.json()["message"] == "Field nope not found in table schema for Customer"


def test_filters_on_unselected_columns(open_api: Any, demo: Any) -> None:
    rows = get(open_api, "/Customer/?fields=companyName&city=Paris").json()["data"]
    assert rows == [{"companyName": "Bon app'"}]


def test_rel_col_fields_without_join_column(open_api: Any, demo: Any) -> None:
    rows = get(open_api, "/SalesOrder/?fields=orderId,shipName,Customer.contactName&sort=orderId.asc").json()["data"]
    assert rows[0] == {
        "orderId": demo.orders[0].pk,
        "shipName": "Destination JPAIY",
        "Customer": [{"contactName": "Maria Anders"}],
    }
    assert rows[4]["Customer"] == []  # no customer


def test_rel_col_unknown_related_column(open_api: Any, demo: Any) -> None:
    assert get(open_api, "/SalesOrder/?fields=Customer.nope").status_code == 400
    assert get(open_api, "/SalesOrder/?fields=Nope.city").status_code == 400


def test_relations_both_directions(open_api: Any, demo: Any) -> None:
    order = get(open_api, f"/SalesOrder/{demo.orders[0].pk}?relations=Customer,Shipper").json()
    assert [c["custId"] for c in order["Customer"]] == [demo.customers[0].pk]
    assert order["Shipper"][0]["companyName"] == "Speedy Express"
    customers = get(open_api, "/Customer/?relations=SalesOrder&sort=custId.asc").json()["data"]
    assert [o["orderId"] for o in customers[0]["SalesOrder"]] == [demo.orders[0].pk, demo.orders[1].pk]
    assert [o["orderId"] for o in customers[2]["SalesOrder"]] == [demo.orders[3].pk]
    user = get(open_api, f"/User/{demo.users[1].pk}?relations=Customer").json()
    assert [c["companyName"] for c in user["Customer"]] == ["Around the Horn"]


def test_relations_always_arrays_even_when_empty(open_api: Any, demo: Any) -> None:
    shipper = Shipper.objects.create(company_name="Nobody Ships")
    body = get(open_api, f"/Shipper/{shipper.pk}?relations=SalesOrder").json()
    assert body["SalesOrder"] == []


def test_relation_unknown_is_400(open_api: Any, demo: Any) -> None:
    response = get(open_api, "/Customer/?relations=Shipper")
    assert response.status_code == 400
    assert response.json()["message"] == "Relation Shipper not found in table schema for Customer"


def test_relations_hide_soft_deleted_rows(open_api: Any, demo: Any) -> None:
    order = demo.orders[1]
    open_api.delete(f"/SalesOrder/{order.pk}")
    customer = get(open_api, f"/Customer/{demo.customers[0].pk}?relations=SalesOrder").json()
    assert [o["orderId"] for o in customer["SalesOrder"]] == [demo.orders[0].pk]


def test_relations_limit_per_parent(open_api: Any, settings: Any, demo: Any) -> None:
    settings.LLANA = {**settings.LLANA, "DEFAULT_RELATIONS_LIMIT": 1}
    customers = get(open_api, "/Customer/?relations=SalesOrder&sort=custId.asc").json()["data"]
    assert [len(c["SalesOrder"]) for c in customers] == [1, 1, 1]
    assert customers[0]["SalesOrder"][0]["orderId"] == demo.orders[0].pk


def test_manual_relation_rows(open_api: Any, demo: Any) -> None:
    from llana.models import Relation

    # Supplier.city = Customer.city: a relation without a foreign key (clears the registry on save).
    Relation.objects.create(table="Customer", column="city", org_table="Supplier", org_column="city")
    supplier = get(open_api, "/Supplier/?relations=Customer").json()["data"][0]
    assert [c["companyName"] for c in supplier["Customer"]] == ["Around the Horn"]
    customer = get(open_api, f"/Customer/{demo.customers[2].pk}?relations=Supplier").json()
    assert [s["companyName"] for s in customer["Supplier"]] == ["Exotic Liquids"]
    schema = get(open_api, "/Supplier/schema").json()
    assert {
        "name": "Customer",
        "table": "Customer",
        "column": "city",
        "org_table": "Supplier",
        "org_column": "city",
    } in schema["relations"]
    clear_registry()


def test_relations_are_not_n_plus_1(open_api: Any, demo: Any, django_assert_num_queries: Any) -> None:
    url = "/SalesOrder/?relations=Customer,Employee,Shipper"
    get(open_api, url)  # warm the registry
    with django_assert_num_queries(5):  # count, page, one per relation
        rows = get(open_api, url).json()["data"]
    assert len(rows) == 5
    for i in range(30):
        SalesOrder.objects.create(customer=demo.customers[i % 3], employee=demo.employees[i % 2], ship_name=f"S{i}")
    with django_assert_num_queries(5):
        rows = get(open_api, url + "&limit=40").json()["data"]
    assert len(rows) == 35
    assert all(len(r["Customer"]) == 1 for r in rows[5:])


def test_sort(open_api: Any, demo: Any) -> None:
    rows = get(open_api, "/SalesOrder/?sort=freight.DESC&freight[not_null]").json()["data"]
    assert [r["freight"] for r in rows] == [140.51, 58.17, 12.5, 3.05]
    rows = get(open_api, "/Customer/?sort=country.asc,city.desc").json()["data"]
    assert [r["country"] for r in rows] == ["France", "Germany", "UK"]


@pytest.mark.parametrize(
    ("sort", "message"),
    [
        ("city", "Invalid order param city, missing direction, must be either city.asc or city.desc"),
        ("city.up", "Invalid sort direction in city.up, must be either city.asc or city.desc"),
        ("nope.asc", "Invalid sort column in nope.asc: column nope not found in schema"),
        ("User.email.asc", "Invalid sort column in User.email.asc: column User.email not found in schema"),
    ],
)
def test_sort_errors(open_api: Any, demo: Any, sort: str, message: str) -> None:
    response = get(open_api, f"/Customer/?sort={sort}")
    assert response.status_code == 400
    assert response.json()["message"] == message


def test_default_order_is_pk(open_api: Any, demo: Any) -> None:
    Customer.objects.filter(pk=demo.customers[0].pk).update(company_name="Zeta")  # update order irrelevant
    rows = get(open_api, "/Customer/").json()["data"]
    assert [r["custId"] for r in rows] == sorted(c.pk for c in demo.customers)


def tokens(body: dict[str, Any]) -> dict[str, Any]:
    def decode(token: str | None) -> Any:
        return None if token is None else json.loads(base64.b64decode(token))

    return {key: decode(value) for key, value in body["pagination"]["page"].items()}


def test_page_token_format() -> None:
    assert page_token(20, 0) == "eyJsaW1pdCI6MjAsIm9mZnNldCI6MH0="


def test_pagination_first_middle_last(open_api: Any, demo: Any) -> None:
    body = get(open_api, "/SalesOrder/?limit=2").json()
    assert tokens(body) == {
        "current": {"limit": 2, "offset": 0},
        "prev": None,
        "next": {"limit": 2, "offset": 2},
        "first": {"limit": 2, "offset": 0},
        "last": {"limit": 2, "offset": 4},
    }
    body = get(open_api, "/SalesOrder/?limit=2&offset=1").json()
    assert tokens(body)["prev"] == {"limit": 2, "offset": 0}  # clamped, not null
    assert body["pagination"]["total"] == 2
    assert body["total"] == 5
    body = get(open_api, "/SalesOrder/?limit=2&offset=4").json()
    assert tokens(body)["next"] is None
    assert tokens(body)["prev"] == {"limit": 2, "offset": 2}
    assert len(body["data"]) == 1
    assert body["pagination"]["total"] == 1


def test_pagination_exact_multiple(open_api: Any, demo: Any) -> None:
    SalesOrder.objects.create(ship_name="sixth")
    body = get(open_api, "/SalesOrder/?limit=3&offset=3").json()
    assert tokens(body)["last"] == {"limit": 3, "offset": 3}
    assert tokens(body)["next"] is None


def test_pagination_empty_table(open_api: Any, db: Any) -> None:
    body = get(open_api, "/Shipper/").json()
    assert body["total"] == 0
    assert body["data"] == []
    assert tokens(body) == {
        "current": {"limit": 20, "offset": 0},
        "prev": None,
        "next": None,
        "first": {"limit": 20, "offset": 0},
        "last": {"limit": 20, "offset": 0},
    }


def test_offset_past_end(open_api: Any, demo: Any) -> None:
    body = get(open_api, "/SalesOrder/?offset=50").json()
    assert body["data"] == []
    assert body["total"] == 5


def test_page_token_round_trip(open_api: Any, demo: Any) -> None:
    seen: list[int] = []
    url = "/SalesOrder/?limit=2"
    while True:
        body = get(open_api, url).json()
        seen += [r["orderId"] for r in body["data"]]
        following = body["pagination"]["page"]["next"]
        if following is None:
            break
        url = "/SalesOrder/?" + "&".join([f"page={following.replace('=', '%3D')}", "limit=99"])
    assert seen == sorted(o.pk for o in demo.orders)


def test_page_token_with_unencoded_plus_and_missing_padding(open_api: Any, demo: Any) -> None:
    token = page_token(1, 1).rstrip("=")
    assert get(open_api, f"/SalesOrder/?page={token}").json()["offset"] == 1


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("page=!!!", "page"),
        ("page=bm90IGpzb24=", "page"),
        ("page=" + page_token(0, 0), "page"),
        ("page=" + page_token(1000, 0), "page"),
    ],
)
def test_pagination_errors_name_the_parameter(open_api: Any, demo: Any, query: str, name: str) -> None:
    response = get(open_api, f"/SalesOrder/?{query}")
    assert response.status_code == 400
    assert response.json()["message"].startswith(name)


def test_max_limit_accepted(open_api: Any, demo: Any) -> None:
    assert get(open_api, "/SalesOrder/?limit=100").json()["limit"] == 100


def test_schema(open_api: Any, demo: Any) -> None:
    schema = get(open_api, "/SalesOrder/schema").json()
    assert schema["table"] == "SalesOrder"
    assert schema["primary_key"] == "orderId"
    columns = {c["field"]: c for c in schema["columns"]}
    assert columns["orderId"]["primary_key"]
    assert columns["orderId"]["extra"] == "auto_increment"
    assert columns["freight"]["type"] == "number"
    assert columns["freight"]["nullable"]
    assert columns["custId"]["foreign_key"]
    assert columns["custId"]["type"] == "number"
    assert columns["orderDate"]["type"] == "date"
    assert columns["shipName"]["max_length"] == 40
    assert columns["shipName"]["type"] == "string"
    assert {
        "name": "Customer",
        "table": "Customer",
        "column": "custId",
        "org_table": "SalesOrder",
        "org_column": "custId",
    } in schema["relations"]
    user = {c["field"]: c for c in get(open_api, "/User/schema").json()["columns"]}
    assert user["role"]["type"] == "enum"
    assert user["role"]["enums"] == ["ADMIN", "USER"]
    assert user["role"]["default"] == "USER"
    assert user["email"]["unique_key"]
    assert user["email"]["required"]
    assert user["is_active"]["type"] == "boolean"
    customer = get(open_api, "/Customer/schema").json()
    assert {
        "name": "SalesOrder",
        "table": "SalesOrder",
        "column": "custId",
        "org_table": "Customer",
        "org_column": "custId",
    } in customer["relations"]
    assert {
        "name": "User",
        "table": "User",
        "column": "id",
        "org_table": "Customer",
        "org_column": "userId",
    } in customer["relations"]


def test_tables_lists_exposed_tables(open_api: Any, db: Any) -> None:
    tables = get(open_api, "/tables").json()["tables"]
    for name in (
        "Customer",
        "SalesOrder",
        "User",
        "Employee",
        "Shipper",
        "Supplier",
    ):
        assert name in tables
    assert not [name for name in tables if name.startswith("_llana_")]  # data tables only, as Llana
    assert "django_session" not in tables
    assert "auth_group" not in tables
    assert "User_groups" not in tables


def test_tables_needs_authentication(client: Any, settings: Any, db: Any) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    response = get(client, "/tables")
    assert response.status_code == 401


def test_system_tables_reachable(open_api: Any, db: Any) -> None:
    from llana.models import PublicTable

    PublicTable.objects.create(table="Employee", access_level="READ")
    rows = get(open_api, "/_llana_public_tables/").json()["data"]
    assert any(row["table"] == "Employee" and row["access_level"] == "READ" for row in rows)


def test_no_signal_on_reads(open_api: Any, demo: Any) -> None:
    calls: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        calls.append(kwargs)

    post_save.connect(receiver)
    try:
        get(open_api, "/Customer/?relations=SalesOrder")
    finally:
        post_save.disconnect(receiver)
    assert calls == []
