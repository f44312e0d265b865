"""Relations never reveal a column the caller may not see (``docs/rest-api.md``, "Permissions").

A relation is joined on a column of each side; the related rows (their always-visible pk, their place under
a parent) show that column's value. So a relation whose join column is hidden from the caller on either
side is a 403 naming the relation, for ``relations=`` and ``fields=Rel.col`` alike, on list and get-one.
Other hidden columns of the related table are simply not output. Filters and sort never reach a related
table's columns.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from llana.auth.tokens import RefreshToken
from llana.models import Role
from llana.registry import clear_registry
from project.demo.models import Employee, User
from tests.llana.auth_support import customer, make_user, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    clear_registry()
    yield
    clear_registry()


class Caller:
    def __init__(self, user: User) -> None:
        self.client = Client()
        self.auth = "Bearer " + str(RefreshToken.for_user(user).access_token)

    def get(self, path: str) -> Any:
        return self.client.get(path, HTTP_AUTHORIZATION=self.auth)


@pytest.fixture
def user(alice: User) -> Caller:
    return Caller(alice)


def limit(table: str, fields: str) -> None:
    """USER reads every row of ``table`` but only ``fields`` (plus the pk)."""
    Role.objects.create(custom=True, table=table, role="USER", records="READ", allowed_fields=fields)


def refused(response: Any, relation: str) -> None:
    assert response.status_code == 403, response.content
    assert response.json()["message"].startswith(f"Relation {relation} is not permitted")


@pytest.fixture
def rows(alice: User) -> dict[str, Any]:
    cust = customer(alice, "Mine")
    employee = Employee.objects.create(last_name="Davolio", first_name="Nancy")
    sales = order(cust)
    sales.employee = employee
    sales.save()
    return {"customer": cust, "employee": employee, "order": sales}


# --- the parent's join column is hidden (forward foreign key, the user table) ------------------------------


@pytest.mark.parametrize(
    "query", ["?fields=orderId&relations=Customer", "?relations=Customer", "?fields=orderId,Customer.companyName"]
)
def test_forward_relation_on_a_hidden_parent_column_is_refused(user: Caller, rows: dict[str, Any], query: str) -> None:
    limit("SalesOrder", "orderId,freight")
    refused(user.get(f"/SalesOrder/{query}"), "Customer")
    refused(user.get(f"/SalesOrder/{rows['order'].pk}{query}"), "Customer")


def test_user_relation_on_a_hidden_parent_column_is_refused(user: Caller, rows: dict[str, Any]) -> None:
    limit("Customer", "companyName")
    refused(user.get("/Customer/?relations=User"), "User")
    refused(user.get(f"/Customer/{rows['customer'].pk}?relations=User"), "User")
    refused(user.get("/Customer/?fields=User.email"), "User")


# --- the related table's join column is hidden (reverse foreign key, the user table) ------------------------


def test_reverse_relation_on_a_hidden_related_column_is_refused(user: Caller, rows: dict[str, Any]) -> None:
    limit("SalesOrder", "orderId,freight")
    refused(user.get("/Employee/?relations=SalesOrder"), "SalesOrder")
    refused(user.get(f"/Employee/{rows['employee'].pk}?relations=SalesOrder"), "SalesOrder")
    refused(user.get("/Employee/?fields=lastName,SalesOrder.freight"), "SalesOrder")
    refused(user.get("/Customer/?relations=SalesOrder"), "SalesOrder")
    refused(user.get(f"/Customer/{rows['customer'].pk}?relations=SalesOrder"), "SalesOrder")


def test_reverse_user_relation_on_a_hidden_related_column_is_refused(
    user: Caller, alice: User, rows: dict[str, Any]
) -> None:
    limit("Customer", "companyName")
    refused(user.get("/User/?relations=Customer"), "Customer")
    refused(user.get(f"/User/{alice.pk}?relations=Customer"), "Customer")


# --- visible join columns: the relation works, other hidden columns are not output ---------------------------


def test_visible_join_columns_keep_the_relation_and_hide_the_rest(user: Caller, rows: dict[str, Any]) -> None:
    limit("SalesOrder", "orderId,freight,custId,employeeId")
    limit("Customer", "companyName,userId")
    body = user.get(f"/SalesOrder/{rows['order'].pk}?relations=Customer").json()
    assert body["Customer"] == [
        {"custId": rows["customer"].pk, "userId": rows["customer"].user_id, "companyName": "Mine"}
    ]
    listed = user.get("/Customer/?relations=SalesOrder").json()["data"]
    assert listed[0]["SalesOrder"] == [
        {"orderId": rows["order"].pk, "custId": rows["customer"].pk, "employeeId": rows["employee"].pk, "freight": 12.5}
    ]
    assert set(user.get("/Employee/?relations=SalesOrder").json()["data"][0]["SalesOrder"][0]) == {
        "orderId",
        "custId",
        "employeeId",
        "freight",
    }


def test_a_refused_relation_keeps_other_relations_and_reads_working(user: Caller, rows: dict[str, Any]) -> None:
    limit("SalesOrder", "orderId,freight,employeeId")
    assert user.get("/SalesOrder/?relations=Employee").status_code == 200
    refused(user.get("/SalesOrder/?relations=Employee,Customer"), "Customer")
    assert user.get("/SalesOrder/?fields=orderId,freight").status_code == 200


# --- filters and sort ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "?custId=1",
        "?custId[not_null]=",
        "?sort=custId.asc",
        "?Customer.custId=1",
        "?Customer.custId[in]=1,2",
        "?sort=Customer.custId.asc",
        "?Customer.companyName[like]=M%25",
    ],
)
def test_filters_and_sort_never_reach_hidden_or_related_columns(user: Caller, rows: dict[str, Any], query: str) -> None:
    limit("SalesOrder", "orderId,freight")
    response = user.get(f"/SalesOrder/{query}")
    assert response.status_code in (400, 403), response.content
    assert "data" not in response.json()


def test_admin_reads_every_relation(rows: dict[str, Any]) -> None:
    admin = Caller(make_user("root@test.com", "ADMIN"))
    limit("SalesOrder", "orderId,freight")  # a USER rule: the ADMIN is not limited by it
    body = admin.get(f"/SalesOrder/{rows['order'].pk}?relations=Customer,Employee").json()
    assert [c["custId"] for c in body["Customer"]] == [rows["customer"].pk]
    assert [e["employeeId"] for e in body["Employee"]] == [rows["employee"].pk]


def test_schema_lists_only_the_relations_the_caller_may_follow(user: Caller) -> None:
    limit("SalesOrder", "orderId,freight,employeeId")
    Role.objects.create(custom=True, table="Shipper", role="USER", records="NONE")
    relations = {r["table"] for r in user.get("/SalesOrder/schema").json()["relations"]}
    assert relations == {"Employee"}  # Customer: custId hidden; Shipper: not readable
    columns = {c["field"] for c in user.get("/SalesOrder/schema").json()["columns"]}
    assert columns == {"orderId", "freight", "employeeId"}
