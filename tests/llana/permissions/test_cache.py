"""The identity cache: decisions are cached, and every change that matters invalidates them at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from llana.auth.identities import Identity, identity_for_user_pk
from llana.auth.tokens import AccessToken
from llana.models import PublicTable, Role
from llana.permissions import cache
from llana.permissions.engine import Level, decide
from tests.llana.auth_support import identity, make_user

pytestmark = pytest.mark.django_db


def test_compiled_rules_are_served_from_the_cache(django_assert_num_queries) -> None:
    alice = make_user("alice@test.com")
    decide(identity(alice), "Customer", Level.READ)
    with django_assert_num_queries(0):
        assert decide(identity(alice), "Customer", Level.READ).allowed


def test_socket_identity_is_cached(django_assert_num_queries) -> None:
    alice = make_user("alice@test.com")
    assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}
    with django_assert_num_queries(0):
        assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}


def test_revoking_a_role_row_applies_on_the_next_decision() -> None:
    alice = make_user("alice@test.com")
    row = Role.objects.create(custom=True, table="Customer", role="USER", records="WRITE")
    assert decide(identity(alice), "Customer", Level.WRITE).allowed
    row.records = "READ"
    row.save()
    assert decide(identity(alice), "Customer", Level.WRITE).status_code == 403
    row.delete()
    Role.objects.filter(role="USER", custom=False).delete()
    assert decide(identity(alice), "Customer", Level.READ).status_code == 403


def test_public_table_changes_apply_at_once() -> None:
    rule = PublicTable.objects.create(table="Employee", access_level="READ")
    assert decide(Identity.anonymous(), "Employee", Level.READ).allowed
    rule.delete()
    assert decide(Identity.anonymous(), "Employee", Level.READ).status_code == 401


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
    decide(identity(alice), "Customer", Level.READ)
    Role.objects.filter(custom=False, role="USER").update(records="NONE")  # no signal: only a TTL of 0 sees it
    assert decide(identity(alice), "Customer", Level.READ).status_code == 403


@override_settings(LLANA={"SOFT_DELETE_COLUMN": "deletedAt"})
def test_soft_deleting_a_user_drops_its_socket_identity() -> None:
    alice, bob = make_user("alice@test.com"), make_user("bob@test.com", deleted_at=timezone.now())
    assert identity_for_user_pk(bob.pk, websocket=True).error == (401, "Authentication Failed")
    assert identity_for_user_pk(alice.pk, websocket=True).roles == {"USER"}
    alice.deleted_at = timezone.now()
    alice.save(update_fields=["deleted_at"])  # as llana.api.writes.delete() soft deletes
    gone = identity_for_user_pk(alice.pk, websocket=True)
    assert gone.is_anonymous
    assert gone.error == (401, "Authentication Failed")


@pytest.fixture
def invalidations() -> Any:
    """The ``permissions_invalidated`` signals sent during the test."""
    sent: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs)

    cache.permissions_invalidated.connect(receiver)
    yield sent
    cache.permissions_invalidated.disconnect(receiver)


def _cached(kind: str, pk: Any) -> bool:
    return cache._cache().get(cache._key(kind, str(pk)), cache._MISSING) is not cache._MISSING


def _set_inactive(user: Any) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def _set_superuser(user: Any) -> None:
    user.is_superuser = True
    user.save()


@override_settings(LLANA={"ROLE_FIELD": None})
def test_permission_changes_send_one_permissions_invalidated_on_commit(
    invalidations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice, group = make_user("alice@test.com"), Group.objects.create(name="USER")
    global_changes = [
        lambda: Role.objects.create(custom=False, role="AUDITOR", records="READ"),
        lambda: PublicTable.objects.create(table="Employee", access_level="READ"),
    ]
    for change in global_changes:
        invalidations.clear()
        with django_capture_on_commit_callbacks(execute=True):
            version = cache.version()
            change()
            assert cache.version() != version  # at once, for this transaction's own reads
            assert invalidations == []  # the notification waits for the commit
        assert invalidations == [{"signal": cache.permissions_invalidated, "sender": None}]
    user_changes = [
        lambda: alice.groups.add(group),
        lambda: alice.groups.clear(),
        lambda: _set_inactive(alice),
        lambda: _set_superuser(alice),
    ]
    for change in user_changes:  # one user's standing: only its entries are dropped, and only it is named
        identity_for_user_pk(alice.pk)
        invalidations.clear()
        with django_capture_on_commit_callbacks(execute=True):
            version = cache.version()
            assert _cached("user", alice.pk)
            change()
            assert not _cached("user", alice.pk)  # at once, for this transaction's own reads
            assert cache.version() == version
            assert invalidations == []  # the notification waits for the commit
        assert invalidations == [{"signal": cache.permissions_invalidated, "sender": None, "users": [str(alice.pk)]}]
    invalidations.clear()
    with django_capture_on_commit_callbacks(execute=True):
        alice.save(update_fields=["last_login"])
    assert invalidations == []


def test_a_rolled_back_change_sends_nothing(invalidations: list[Any], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                Role.objects.create(custom=False, role="AUDITOR", records="READ")
                raise RuntimeError
        except RuntimeError:
            pass
    assert invalidations == []


def test_manual_invalidate_notifies_unless_told_not_to(invalidations: list[Any]) -> None:
    cache.invalidate()
    assert len(invalidations) == 1
    cache.invalidate(notify=False)
    assert len(invalidations) == 1


# --- only what changed is invalidated ------------------------------------------------------------------------


def test_a_user_save_that_changes_no_standing_touches_nothing(
    invalidations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """A profile edit or a full ``save()`` of an unchanged user (REST ``PUT /User/<me>``) drops no cache
    entry and re-checks no socket."""
    alice = make_user("alice@test.com")
    identity_for_user_pk(alice.pk)
    version = cache.version()
    with django_capture_on_commit_callbacks(execute=True):
        alice.first_name = "Alice"
        alice.save()
        alice.save(update_fields=["is_active"])  # unchanged value
    assert invalidations == []
    assert cache.version() == version
    assert _cached("user", alice.pk)


def test_a_user_change_drops_only_that_users_entries(django_capture_on_commit_callbacks: Any) -> None:
    alice, bob = make_user("alice@test.com"), make_user("bob@test.com")
    identity_for_user_pk(alice.pk)
    identity_for_user_pk(bob.pk)
    decide(identity(bob), "Customer", Level.READ)
    with django_capture_on_commit_callbacks(execute=True):
        alice.set_password("another-password-123")
        alice.save()
    assert not _cached("user", alice.pk)
    assert _cached("user", bob.pk)
    assert decide(identity(bob), "Customer", Level.READ).allowed


def test_deleting_a_user_names_only_that_user(
    invalidations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = make_user("alice@test.com")
    pk = alice.pk
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
    assert invalidations == [{"signal": cache.permissions_invalidated, "sender": None, "users": [str(pk)]}]


def test_rest_self_updates_invalidate_nothing(
    invalidations: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """``PUT /User/<me>`` changing a profile field (as a USER may, own records) neither bumps the version nor
    notifies the realtime feed, however often it is repeated."""
    alice = make_user("alice@test.com")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(alice)}")
    version = cache.version()
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.put(f"/User/{alice.pk}", {"firstName": f"Alice {n}"}, content_type="application/json")
        assert response.status_code == 200, response.content
    assert invalidations == []
    assert cache.version() == version
