"""Llana-compatible edges: ``/tables`` lists data tables only, write-only columns in ``/T/schema``
(``docs/rest-api.md``, "Tables and columns")."""

from __future__ import annotations

from typing import Any

import pytest

from llana.models import PublicTable
from llana.models import Relation as RelationRow
from llana.registry import clear_registry
from project.demo.models import User
from tests.relapp.models import Message, Person, Tag

pytestmark = pytest.mark.django_db


def test_tables_leaves_out_system_tables_which_stay_reachable(open_api: Any) -> None:
    tables = open_api.get("/tables").json()["tables"]
    assert "Customer" in tables
    assert [name for name in tables if name.startswith("_llana_")] == []
    assert open_api.get("/_llana_role/").status_code == 200
    assert open_api.get("/_llana_relation/schema").status_code == 200


def test_user_created_from_its_schema(open_api: Any) -> None:
    """A schema-driven form sends every required or write-only column: the password is hashed, never read."""
    columns = open_api.get("/User/schema").json()["columns"]
    password = next(c for c in columns if c["field"] == "password")
    assert password["write_only"] is True
    assert password["type"] == "string"
    values = {"email": "form@test.com", "password": "s3cret-form"}
    body = {c["field"]: values[c["field"]] for c in columns if c["required"] or c["write_only"]}
    assert set(body) == {"email", "password"}
    response = open_api.post("/User/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert "password" not in response.json()
    user = User.objects.get(email="form@test.com")
    assert user.check_password("s3cret-form")
    assert user.password != "s3cret-form"
    assert "password" not in open_api.get(f"/User/{user.pk}").json()


def test_write_only_columns_not_listed_to_readers_who_cannot_write(client: Any, settings: Any) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    clear_registry()
    PublicTable.objects.create(table="User", access_level="READ", allowed_fields="id,email")
    fields = [c["field"] for c in client.get("/User/schema").json()["columns"]]
    assert "email" in fields
    assert "password" not in fields
    clear_registry()


# --- two foreign keys to one table, many-to-many (tests/relapp: Message.senderId / recipientId → Person,
# Message.tags ↔ Tag) -----------------------------------------------------------------------------------------


@pytest.fixture
def mail(db: Any) -> dict[str, Any]:
    ann, bob = Person.objects.create(name="Ann"), Person.objects.create(name="Bob")
    urgent, late = Tag.objects.create(label="urgent"), Tag.objects.create(label="late")
    first = Message.objects.create(sender=ann, recipient=bob, text="hello")
    second = Message.objects.create(sender=bob, recipient=ann, text="re: hello")
    third = Message.objects.create(sender=ann, recipient=None, text="note")
    first.tags.set([urgent, late])
    second.tags.set([late])
    return {"ann": ann, "bob": bob, "urgent": urgent, "late": late, "messages": [first, second, third]}


def names(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return [row[key] for row in rows]


def test_two_foreign_keys_to_one_table_are_two_relations(open_api: Any, mail: dict[str, Any]) -> None:
    rows = open_api.get("/Message/?relations=Person,Person:recipientId").json()["data"]
    assert [names(r["Person"], "name") for r in rows] == [["Ann"], ["Bob"], ["Ann"]]  # the first key keeps the name
    assert [names(r["Person:recipientId"], "name") for r in rows] == [["Bob"], ["Ann"], []]
    fields = open_api.get("/Message/?fields=text,Person:recipientId.name").json()["data"]
    assert fields[0] == {"text": "hello", "Person:recipientId": [{"name": "Bob"}]}
    ann = open_api.get(f"/Person/{mail['ann'].pk}?relations=Message,Message:recipientId").json()
    assert names(ann["Message"], "text") == ["hello", "note"]  # sent
    assert names(ann["Message:recipientId"], "text") == ["re: hello"]  # received
    schema = open_api.get("/Message/schema").json()["relations"]
    assert {"name": "Person:recipientId", "table": "Person", "column": "personId", "org_table": "Message",
            "org_column": "recipientId"} in schema  # fmt: skip
    assert {"name": "Person", "table": "Person", "column": "personId", "org_table": "Message",
            "org_column": "senderId"} in schema  # fmt: skip


def test_many_to_many_is_a_relation_both_ways(open_api: Any, mail: dict[str, Any]) -> None:
    rows = open_api.get("/Message/?relations=Tag").json()["data"]
    assert [names(r["Tag"], "label") for r in rows] == [["urgent", "late"], ["late"], []]
    tags = open_api.get("/Tag/?fields=label,Message.text").json()["data"]
    assert tags == [
        {"label": "urgent", "Message": [{"text": "hello"}]},
        {"label": "late", "Message": [{"text": "hello"}, {"text": "re: hello"}]},
    ]
    schema = open_api.get("/Tag/schema").json()["relations"]
    assert {"name": "Message", "table": "Message", "column": "messageId", "org_table": "Tag", "org_column": "tagId",
            "through": "Message_tags"} in schema  # fmt: skip


def test_many_to_many_relation_rows_follow_the_related_tables_permission(
    client: Any, settings: Any, mail: dict[str, Any]
) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    clear_registry()
    PublicTable.objects.create(table="Message", access_level="READ")
    assert client.get("/Message/?relations=Tag").status_code == 403  # Tag is not readable
    PublicTable.objects.create(table="Tag", access_level="READ", allowed_fields="label")
    rows = client.get("/Message/?relations=Tag").json()["data"]
    assert rows[0]["Tag"] == [
        {"tagId": mail["urgent"].pk, "label": "urgent"},
        {"tagId": mail["late"].pk, "label": "late"},
    ]
    clear_registry()


@pytest.mark.parametrize("key", ["Tag", "tags"])
def test_many_to_many_writes_are_refused_naming_the_field(open_api: Any, mail: dict[str, Any], key: str) -> None:
    body = {"senderId": mail["ann"].pk, "text": "x", key: [mail["urgent"].pk]}
    response = open_api.post("/Message/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{key}: A many-to-many relation is read-only")
    assert not Message.objects.filter(text="x").exists()


def test_second_foreign_key_relation_refused_when_its_join_column_is_hidden(
    client: Any, settings: Any, mail: dict[str, Any]
) -> None:
    settings.LLANA = {"SKIP_AUTH": False}
    clear_registry()
    PublicTable.objects.create(table="Message", access_level="READ", allowed_fields="messageId,text,senderId")
    PublicTable.objects.create(table="Person", access_level="READ")
    assert client.get("/Message/?relations=Person").status_code == 200
    refused = client.get("/Message/?relations=Person:recipientId")
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "Relation Person:recipientId is not permitted: column recipientId is not permitted"
    )
    relations = [r["name"] for r in client.get("/Message/schema").json()["relations"]]
    assert "Person" in relations
    assert "Person:recipientId" not in relations
    clear_registry()


def test_relation_row_repeating_a_foreign_key_adds_no_second_name(open_api: Any) -> None:
    RelationRow.objects.create(table="Customer", column="custId", org_table="SalesOrder", org_column="custId")
    clear_registry()
    names = [r["name"] for r in open_api.get("/SalesOrder/schema").json()["relations"]]
    assert names.count("Customer") == 1
    assert not [name for name in names if name.startswith("Customer:")]
    clear_registry()
