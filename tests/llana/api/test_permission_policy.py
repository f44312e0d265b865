"""The views' contract with the permission policy (``LLANA["PERMISSION_POLICY"]``).

A small policy, installed through the setting, stands in for the roles engine so that each use of a decision is visible: the
restriction on every lookup, the field list on every output, the data passed for writes, relation
checks and the ``/tables`` filter. One test uses the real engine with a public-table row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.db.models import Q

from llana.auth.identities import Identity
from llana.permissions.engine import Decision, Level

pytestmark = pytest.mark.django_db


Decide = Callable[[Identity, str, Level, Any], Decision]


class StandInPolicy:
    """The ``PERMISSION_POLICY`` of these tests: answers with the function ``use_policy()`` installed."""

    function: ClassVar[Decide]

    def decide(self, identity: Identity, table: str, level: Level, data: Any = None) -> Decision:
        return StandInPolicy.function(identity, table, level, data)


@pytest.fixture
def use_policy(settings: Any, open_api: Any) -> Callable[[Decide], None]:
    """Install a decide function as the API's permission policy (through the setting)."""

    def use(function: Decide) -> None:
        StandInPolicy.function = function
        settings.LLANA = {**settings.LLANA, "PERMISSION_POLICY": f"{__name__}.StandInPolicy"}

    return use


class Policy:
    """Per table: a Decision (or a denial) per level; records every call."""

    def __init__(self, rules: dict[tuple[str, Level], Decision]) -> None:
        self.rules = rules
        self.calls: list[tuple[str, Level, Any]] = []

    def __call__(self, identity: Identity, table: str, level: Level, data: Any = None) -> Decision:
        assert identity.skip_auth  # the open API's caller, as authenticated for the request
        self.calls.append((table, level, None if data is None else dict(data)))
        return self.rules.get((table, level), Decision.deny(403, f"Table Action {level.name} - Permission Denied"))


@pytest.fixture
def policy(use_policy: Callable[[Decide], None], demo: Any) -> Policy:
    mine = Q(user_id=demo.users[0].pk)
    allow = Decision(allowed=True)
    rules = {
        ("Customer", Level.READ): Decision(allowed=True, restriction=mine, fields=frozenset({"companyName", "city"})),
        ("Customer", Level.WRITE): Decision(allowed=True, restriction=mine),
        ("Customer", Level.DELETE): Decision(allowed=True, restriction=mine),
        ("SalesOrder", Level.READ): Decision(
            allowed=True, restriction=Q(freight__gt=10), fields=frozenset({"freight", "custId"})
        ),
        ("Shipper", Level.READ): allow,
    }
    p = Policy(rules)
    use_policy(p)
    return p


def test_list_applies_restriction_and_fields(open_api: Any, demo: Any, policy: Policy) -> None:
    body = open_api.get("/Customer/").json()
    assert body["total"] == 2
    assert body["data"][0] == {"custId": demo.customers[0].pk, "companyName": "Alfreds Futterkiste", "city": "Berlin"}
    assert policy.calls == [("Customer", Level.READ, None)]
    assert open_api.get("/Customer/?fields=city,country").json()["data"][0] == {"city": "Berlin"}


def test_filters_and_sort_limited_to_permitted_columns(open_api: Any, demo: Any, policy: Policy) -> None:
    response = open_api.get("/Customer/?country=UK")
    assert response.status_code == 403
    assert "country" in response.json()["message"]
    assert open_api.get("/Customer/?sort=country.asc").status_code == 403
    assert open_api.get("/Customer/?custId[gt]=0").status_code == 200


def test_get_one_outside_restriction_is_404(open_api: Any, demo: Any, policy: Policy) -> None:
    assert open_api.get(f"/Customer/{demo.customers[2].pk}").status_code == 404
    assert open_api.get(f"/Customer/{demo.customers[0].pk}").json()["city"] == "Berlin"


def test_schema_columns_cut_to_fields(open_api: Any, demo: Any, policy: Policy) -> None:
    columns = [c["field"] for c in open_api.get("/Customer/schema").json()["columns"]]
    assert columns == ["custId", "companyName", "city"]


def test_relations_checked_with_their_own_decision(open_api: Any, demo: Any, policy: Policy) -> None:
    body = open_api.get(f"/Customer/{demo.customers[0].pk}?relations=SalesOrder").json()
    cust = demo.customers[0].pk
    assert body["SalesOrder"] == [
        {"orderId": demo.orders[0].pk, "custId": cust, "freight": 58.17},
        {"orderId": demo.orders[1].pk, "custId": cust, "freight": 12.5},
    ]
    assert ("SalesOrder", Level.READ, None) in policy.calls
    other = open_api.get(f"/Customer/{demo.customers[1].pk}?relations=SalesOrder").json()
    assert other["SalesOrder"] == []  # its only order (freight 3.05) is outside the relation's restriction
    response = open_api.get(f"/Customer/{demo.customers[0].pk}?relations=User")
    assert response.status_code == 403
    assert "Relation User" in response.json()["message"]
    response = open_api.get(f"/Customer/{demo.customers[0].pk}?fields=SalesOrder.shipName")
    assert response.status_code == 403


def test_create_passes_each_item(open_api: Any, demo: Any, policy: Policy) -> None:
    item = {"companyName": "Mine", "userId": demo.users[0].pk, "country": "NO"}
    body = open_api.post("/Customer/", item, content_type="application/json").json()
    assert ("Customer", Level.WRITE, item) in policy.calls
    assert body["companyName"] == "Mine"
    assert body["country"] == "NO"


def test_update_finds_through_restriction_and_checks_merged_row(open_api: Any, demo: Any, policy: Policy) -> None:
    theirs = demo.customers[2]
    assert open_api.patch(f"/Customer/{theirs.pk}", {"city": "x"}, content_type="application/json").status_code == 404
    mine = demo.customers[0]
    policy.calls.clear()
    assert open_api.patch(f"/Customer/{mine.pk}", {"city": "Köln"}, content_type="application/json").status_code == 200
    assert [c[:2] for c in policy.calls] == [("Customer", Level.WRITE), ("Customer", Level.WRITE)]
    assert policy.calls[0][2] is None
    merged = policy.calls[1][2]
    assert merged["city"] == "Köln"
    assert merged["custId"] == mine.pk
    assert merged["userId"] == demo.users[0].pk


def test_update_refused_for_merged_row(open_api: Any, demo: Any, use_policy: Callable[[Decide], None]) -> None:
    def owner_only(identity: Identity, table: str, level: Level, data: Any = None) -> Decision:
        if data is not None and data.get("userId") != demo.users[0].pk:
            return Decision.deny(403, "Identity Mismatch")
        return Decision(allowed=True)

    use_policy(owner_only)
    mine = demo.customers[0]
    response = open_api.patch(f"/Customer/{mine.pk}", {"userId": demo.users[1].pk}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["message"] == "Identity Mismatch"
    body = open_api.patch(
        "/Customer/",
        [{"custId": mine.pk, "userId": demo.users[1].pk}, {"custId": mine.pk, "city": "ok"}],
        content_type="application/json",
    ).json()
    assert body["successful"] == 1
    assert body["errors"][0]["message"] == "Identity Mismatch"
    body = open_api.post(
        "/Customer/", [{"companyName": "A", "userId": demo.users[1].pk}], content_type="application/json"
    ).json()
    assert body["errored"] == 1


def test_delete_through_restriction(open_api: Any, demo: Any, policy: Policy) -> None:
    assert open_api.delete(f"/Customer/{demo.customers[2].pk}").status_code == 404
    assert open_api.delete(f"/Customer/{demo.customers[0].pk}").json() == {"deleted": 1}
    assert ("Customer", Level.DELETE, None) in policy.calls


def test_denied_level(open_api: Any, demo: Any, policy: Policy) -> None:
    response = open_api.delete(f"/SalesOrder/{demo.orders[0].pk}")
    assert response.status_code == 403
    assert response.json()["message"] == "Table Action DELETE - Permission Denied"


def test_tables_filtered_by_read(open_api: Any, demo: Any, policy: Policy) -> None:
    assert open_api.get("/tables").json()["tables"] == ["Customer", "SalesOrder", "Shipper"]


def test_public_table_row_opens_reads(client: Any, settings: Any, demo: Any) -> None:
    from llana.models import PublicTable

    settings.LLANA = {"SKIP_AUTH": False}
    assert client.get("/Employee/").status_code == 401
    PublicTable.objects.create(table="Employee", access_level="READ")
    response = client.get("/Employee/")
    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert client.delete(f"/Employee/{demo.employees[0].pk}").status_code in (401, 403)


def test_parent_field_list_names_related_columns(
    open_api: Any, demo: Any, use_policy: Callable[[Decide], None]
) -> None:
    def rules(identity: Identity, table: str, level: Level, data: Any = None) -> Decision:
        if table == "Customer":
            return Decision(allowed=True, fields=frozenset({"companyName", "userId", "User.email"}))
        return Decision(allowed=True)

    use_policy(rules)
    body = open_api.get(f"/Customer/{demo.customers[0].pk}?relations=User").json()
    assert body["User"] == [{"id": demo.users[0].pk, "email": "admin@test.com"}]
    assert set(body) == {"custId", "companyName", "userId", "User"}
