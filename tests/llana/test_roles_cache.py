"""The identity cache: decisions are cached, and every change that matters invalidates them at once."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from llana import cache
from llana.models import PublicTable, Role
from llana.permissions import Identity, Level, decide_for, identity_for_user_pk
from tests.llana.auth_support import identity, make_user

pytestmark = pytest.mark.django_db


def test_compiled_rules_are_served_from_the_cache(django_assert_num_queries) -> None:
    alice = make_user("alice@test.com")
    decide_for(identity(alice), "Customer", Level.READ)
    with django_assert_num_queries(0):
        assert decide_for(identity(alice), "Customer", Level.READ).allowed


def test_socket_identity_is_cached(django_assert_num_queries) -> None:
    alice = make_user("alice@test.com")
    assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}
    with django_assert_num_queries(0):
        assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}


def test_revoking_a_role_row_applies_on_the_next_decision() -> None:
    alice = make_user("alice@test.com")
    row = Role.objects.create(custom=True, table="Customer", role="USER", records="WRITE")
    assert decide_for(identity(alice), "Customer", Level.WRITE).allowed
    row.records = "READ"
    row.save()
    assert decide_for(identity(alice), "Customer", Level.WRITE).status_code == 403
    row.delete()
    Role.objects.filter(role="USER", custom=False).delete()
    assert decide_for(identity(alice), "Customer", Level.READ).status_code == 403


def test_public_table_changes_apply_at_once() -> None:
    rule = PublicTable.objects.create(table="Employee", access_level="READ")
    assert decide_for(Identity.anonymous(), "Employee", Level.READ).allowed
    rule.delete()
    assert decide_for(Identity.anonymous(), "Employee", Level.READ).status_code == 401


def test_changing_the_users_role_field_applies_at_once() -> None:
    alice = make_user("alice@test.com", "ADMIN")
    assert identity_for_user_pk(alice.pk, websocket=True).roles == {"ADMIN"}
    alice.role = "USER"
    alice.save()
    assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}


def test_deactivating_a_user_drops_its_socket_identity() -> None:
    alice = make_user("alice@test.com")
    assert not identity_for_user_pk(alice.pk, websocket=True).is_anonymous
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    gone = identity_for_user_pk(alice.pk, websocket=True)
    assert gone.is_anonymous
    assert gone.error == (401, "Authentication Failed")


def test_deleting_a_user_drops_its_socket_identity() -> None:
    alice = make_user("alice@test.com")
    pk = alice.pk
    assert identity_for_user_pk(pk, websocket=True).roles == {"USER"}
    alice.delete()
    assert identity_for_user_pk(pk, websocket=True).is_anonymous


def test_last_login_updates_do_not_flush_the_cache() -> None:
    alice = make_user("alice@test.com")
    before = cache.version()
    alice.save(update_fields=["last_login"])
    assert cache.version() == before


@override_settings(LLANA={"ROLE_FIELD": None})
def test_group_membership_changes_apply_at_once() -> None:
    alice = make_user("alice@test.com")
    group = Group.objects.create(name="USER")
    assert identity_for_user_pk(alice.pk).roles == frozenset()
    alice.groups.add(group)
    assert identity_for_user_pk(alice.pk).roles == {"USER"}
    alice.groups.remove(group)
    assert identity_for_user_pk(alice.pk).roles == frozenset()


@override_settings(LLANA={"ROLE_FIELD": None})
def test_renaming_a_group_applies_at_once() -> None:
    alice = make_user("alice@test.com")
    group = Group.objects.create(name="USER")
    alice.groups.add(group)
    assert identity_for_user_pk(alice.pk).roles == {"USER"}
    group.name = "ADMIN"
    group.save()
    assert identity_for_user_pk(alice.pk).roles == {"ADMIN"}


@override_settings(LLANA={"CACHE_IDENTITY_DATA_TTL": 0})
def test_ttl_zero_disables_the_cache(django_assert_max_num_queries) -> None:
    alice = make_user("alice@test.com")
    decide_for(identity(alice), "Customer", Level.READ)
    Role.objects.filter(custom=False, role="USER").update(records="NONE")  # no signal: only a TTL of 0 sees it
    assert decide_for(identity(alice), "Customer", Level.READ).status_code == 403


