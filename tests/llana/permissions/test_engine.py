"""The permission engine against demo rows: the rules of ``docs/auth.md``, without HTTP."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from llana.auth.credentials import MISSING_TOKEN_MESSAGE
from llana.auth.identities import Identity
from llana.models import ApiKey, PublicTable, Role
from llana.permissions.engine import Decision, Level, decide, permission_for
from llana.permissions.ownership import resolve_owner_path
from project.demo.models import Customer, Employee, SalesOrder, User
from tests.llana.auth_support import customer, identity, make_user, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> User:
    return make_user("admin@test.com", "ADMIN")


def rows(model, decision: Decision) -> list:
    qs = model.objects.all()
    if decision.restriction is not None:
        qs = qs.filter(decision.restriction)
    return list(qs.values_list("pk", flat=True))


# --- 6.1 levels and the seed ------------------------------------------------------------------------


def test_levels_are_ordered() -> None:
    assert Level.NONE < Level.READ < Level.WRITE < Level.DELETE
    assert Level.parse(None) is Level.NONE
    assert Level.parse("WRITE") is Level.WRITE


def test_migration_seeds_llanas_default_roles() -> None:
    seeded = list(Role.objects.values_list("custom", "table", "identity_column", "role", "records", "own_records"))
    assert seeded == [
        (False, None, None, "ADMIN", "DELETE", None),
        (False, None, None, "USER", "READ", None),
        (True, "User", None, "USER", "NONE", "WRITE"),
        (True, "_llana_api_key", "user_id", "USER", "NONE", "WRITE"),
    ]


# --- seeded behaviour: ADMIN, USER, anonymous ---------------------------------------------------------


@pytest.mark.parametrize("level", [Level.READ, Level.WRITE, Level.DELETE])
def test_admin_may_do_anything_on_every_table(admin: User, level: Level) -> None:
    for table in ("Customer", "User", "_llana_role", "_llana_api_key"):
        decision = decide(identity(admin), table, level)
        assert (decision.allowed, decision.restriction, decision.fields) == (True, None, None), table


def test_user_reads_business_tables_but_may_not_write(alice: User) -> None:
    assert decide(identity(alice), "Customer", Level.READ) == Decision(allowed=True)
    denied = decide(identity(alice), "Customer", Level.WRITE)
    assert (denied.allowed, denied.status_code) == (False, 403)
    assert denied.message == "Table Action WRITE - Permission Denied For Role USER"


def test_user_sees_only_its_own_user_row(alice: User, bob: User) -> None:
    decision = decide(identity(alice), "User", Level.READ)
    assert decision.allowed
    assert rows(User, decision) == [alice.pk]


def test_user_updates_its_own_user_row_only(alice: User, bob: User) -> None:
    mine = {"id": alice.pk, "email": "alice@test.com", "firstName": "Alice"}
    assert decide(identity(alice), "User", Level.WRITE, data=mine).allowed
    theirs = decide(identity(alice), "User", Level.WRITE, data={"id": bob.pk, "firstName": "X"})
    assert (theirs.allowed, theirs.status_code) == (False, 403)
    assert theirs.message == (
        f"Identity Mismatch - You can only add User records with your own id ({alice.pk}) "
        f"but you are trying to add {bob.pk}"
    )


def test_user_may_not_delete_users(alice: User) -> None:
    decision = decide(identity(alice), "User", Level.DELETE, data={"id": alice.pk})
    assert decision.message == "Table Action DELETE - Permission Denied For Role USER"


def test_user_sees_and_writes_only_its_own_api_keys(alice: User, bob: User) -> None:
    mine, _ = ApiKey.objects.create_key(alice, "a")
    ApiKey.objects.create_key(bob, "b")
    decision = decide(identity(alice), "_llana_api_key", Level.READ)
    assert rows(ApiKey, decision) == [mine.pk]
    assert decide(identity(alice), "_llana_api_key", Level.WRITE, data={"user_id": alice.pk}).allowed
    assert not decide(identity(alice), "_llana_api_key", Level.WRITE, data={"user_id": bob.pk}).allowed


@pytest.mark.parametrize("table", ["_llana_role", "_llana_public_tables", "_llana_relation"])
def test_system_tables_are_admin_only_by_default(alice: User, table: str) -> None:
    decision = decide(identity(alice), table, Level.READ)
    assert (decision.allowed, decision.status_code) == (False, 403)


def test_system_table_roles_setting_opens_system_tables(alice: User) -> None:
    with override_settings(LLANA={"SYSTEM_TABLE_ROLES": ["ADMIN", "USER"]}):
        assert decide(identity(alice), "_llana_role", Level.READ).allowed


def test_anonymous_is_refused_with_llanas_message() -> None:
    decision = decide(Identity.anonymous(), "Customer", Level.READ)
    assert (decision.allowed, decision.status_code, decision.message) == (False, 401, MISSING_TOKEN_MESSAGE)


def test_anonymous_refusal_carries_the_authentication_failure() -> None:
    decision = decide(Identity.anonymous((401, "Access token expired")), "Customer", Level.READ)
    assert (decision.status_code, decision.message) == (401, "Access token expired")


def test_user_without_role_gets_role_not_found() -> None:
    nobody = make_user("nobody@test.com", role="")
    decision = decide(identity(nobody), "Customer", Level.READ)
    assert (decision.status_code, decision.message) == (403, "Role not found")


@override_settings(LLANA={"SKIP_AUTH": True})
def test_skip_auth_allows_everything() -> None:
    assert decide(Identity.skip(), "_llana_role", Level.DELETE) == Decision(allowed=True)


# --- 6.2 public tables --------------------------------------------------------------------------------


def test_public_read_admits_anonymous_for_reads_only() -> None:
    PublicTable.objects.create(table="Employee", access_level="READ")
    assert decide(Identity.anonymous(), "Employee", Level.READ).allowed
    write = decide(Identity.anonymous(), "Employee", Level.WRITE)
    assert (write.allowed, write.status_code) == (False, 401)


def test_public_rule_admits_a_caller_whose_credentials_failed() -> None:
    PublicTable.objects.create(table="Employee", access_level="READ")
    assert decide(Identity.anonymous((401, "Authentication Failed")), "Employee", Level.READ).allowed


def test_first_public_rule_satisfying_the_level_applies() -> None:
    PublicTable.objects.create(table="Employee", access_level="READ", allowed_fields="firstName")
    PublicTable.objects.create(table="Employee", access_level="WRITE", allowed_fields="lastName")
    assert decide(Identity.anonymous(), "Employee", Level.READ).fields == {"firstName"}
    assert decide(Identity.anonymous(), "Employee", Level.WRITE).fields == {"lastName"}


def test_public_delete_skips_roles(alice: User) -> None:
    PublicTable.objects.create(table="Shipper", access_level="DELETE")
    assert decide(Identity.anonymous(), "Shipper", Level.DELETE).allowed
    assert decide(identity(alice), "Shipper", Level.DELETE).allowed  # USER alone may not delete


def test_public_table_lets_an_authenticated_user_whose_role_fails(alice: User) -> None:
    PublicTable.objects.create(table="Customer", access_level="WRITE")
    assert decide(identity(alice), "Customer", Level.WRITE).allowed


# --- 6.3 custom and default rows ------------------------------------------------------------------------


def test_custom_row_records_grant_allows_with_its_fields(alice: User) -> None:
    Role.objects.create(custom=True, table="Customer", role="USER", records="WRITE", allowed_fields="companyName")
    decision = decide(identity(alice), "Customer", Level.WRITE)
    assert decision.allowed
    assert decision.restriction is None
    assert decision.fields == {"companyName"}


def test_first_custom_row_decides(alice: User) -> None:
    Role.objects.create(custom=True, table="Customer", role="USER", records="NONE")
    Role.objects.create(custom=True, table="Customer", role="USER", records="DELETE")
    decision = decide(identity(alice), "Customer", Level.READ)
    assert decision.message == "Table Action READ - Permission Denied For Role USER"


def test_custom_row_overrides_the_default_rows(alice: User) -> None:
    Role.objects.create(custom=True, table="Shipper", role="USER", records="NONE")
    assert not decide(identity(alice), "Shipper", Level.READ).allowed
    assert decide(identity(alice), "Customer", Level.READ).allowed


def test_own_records_below_the_need_denies(alice: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", identity_column="userId", role="USER", records="NONE", own_records="READ"
    )
    assert decide(identity(alice), "Customer", Level.READ).allowed
    denied = decide(identity(alice), "Customer", Level.WRITE)
    assert denied.message == "Table Action WRITE - Permission Denied For Role USER"


def test_first_default_row_satisfying_the_level_applies(alice: User) -> None:
    Role.objects.filter(role="USER", custom=False).delete()
    Role.objects.create(custom=False, role="USER", records="READ", allowed_fields="companyName")
    Role.objects.create(custom=False, role="USER", records="WRITE", allowed_fields="contactName")
    assert decide(identity(alice), "Customer", Level.READ).fields == {"companyName"}
    assert decide(identity(alice), "Customer", Level.WRITE).fields == {"contactName"}
    assert not decide(identity(alice), "Customer", Level.DELETE).allowed


# --- ownership: always applied (fix), relation paths (fix) ------------------------------------------------


@pytest.fixture
def own_customers(alice: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", identity_column="userId", role="USER", records="NONE", own_records="DELETE"
    )


def test_own_records_filter_lists_and_get_one(alice: User, bob: User, own_customers: None) -> None:
    mine, theirs = customer(alice, "Mine"), customer(bob, "Theirs")
    decision = decide(identity(alice), "Customer", Level.READ)
    assert rows(Customer, decision) == [mine.pk]
    assert not Customer.objects.filter(decision.restriction, pk=theirs.pk).exists()


def test_create_requires_the_callers_identity_column(alice: User, bob: User, own_customers: None) -> None:
    assert decide(identity(alice), "Customer", Level.WRITE, data={"userId": alice.pk, "companyName": "A"}).allowed
    assert decide(identity(alice), "Customer", Level.WRITE, data={"userId": str(alice.pk)}).allowed
    assert decide(identity(alice), "Customer", Level.WRITE, data={"userId": float(alice.pk)}).allowed
    assert not decide(identity(alice), "Customer", Level.WRITE, data={"userId": True}).allowed
    refused = decide(identity(alice), "Customer", Level.WRITE, data={"userId": bob.pk, "companyName": "A"})
    assert refused.status_code == 403
    assert refused.message.startswith("Identity Mismatch - You can only add Customer")
    assert not decide(identity(alice), "Customer", Level.WRITE, data={"companyName": "no owner"}).allowed


def test_update_may_not_hand_a_row_to_someone_else(alice: User, bob: User, own_customers: None) -> None:
    mine = customer(alice)
    stored = {"custId": mine.pk, "userId": alice.pk, "companyName": mine.company_name}
    assert decide(identity(alice), "Customer", Level.WRITE, data={**stored, "companyName": "New"}).allowed
    assert not decide(identity(alice), "Customer", Level.WRITE, data={**stored, "userId": bob.pk}).allowed


def test_update_and_delete_of_others_rows_find_nothing(alice: User, bob: User, own_customers: None) -> None:
    theirs = customer(bob)
    for level in (Level.WRITE, Level.DELETE):
        decision = decide(identity(alice), "Customer", level)
        assert not Customer.objects.filter(decision.restriction, pk=theirs.pk).exists()


def test_cached_allow_still_checks_ownership(alice: User, bob: User, own_customers: None) -> None:
    """Llana bug 13: a cached allow skipped the identity check."""
    perm = permission_for(identity(alice), "Customer")
    assert perm.decide(Level.WRITE, {"userId": alice.pk}).allowed
    assert not perm.decide(Level.WRITE, {"userId": bob.pk}).allowed
    assert not decide(identity(alice), "Customer", Level.WRITE, {"userId": bob.pk}).allowed


@pytest.mark.parametrize("column", ["customer__user", "custId__userId", "Customer.userId", "customer.user_id"])
def test_identity_column_may_follow_a_relation(alice: User, bob: User, column: str) -> None:
    Role.objects.create(
        custom=True, table="SalesOrder", identity_column=column, role="USER", records="NONE", own_records="WRITE"
    )
    mine, theirs = customer(alice), customer(bob)
    my_order, _ = order(mine, "Mine"), order(theirs, "Theirs")
    decision = decide(identity(alice), "SalesOrder", Level.READ)
    assert rows(SalesOrder, decision) == [my_order.pk]
    assert decide(identity(alice), "SalesOrder", Level.WRITE, data={"custId": mine.pk}).allowed
    assert not decide(identity(alice), "SalesOrder", Level.WRITE, data={"custId": theirs.pk}).allowed


@override_settings(LLANA={"ROLE_FIELD": None})
def test_owner_paths_are_those_of_the_own_records_grants_admitting_the_level(alice: User) -> None:
    grants = [  # role, identity_column, records, own_records
        ("AGENT", "customer__user", "NONE", "WRITE"),
        ("TWIN", "Customer.userId", "NONE", "READ"),  # the same path, spelled Llana's way
        ("SEER", "", "NONE", "READ"),  # the pk
        ("CLERK", "employee", "READ", "DELETE"),  # reads everything, deletes its own
        ("BROKEN", "nope", "NONE", "READ"),  # misconfigured: denies, has no path
    ]
    for role, column, records, own in grants:
        Role.objects.create(
            custom=True, table="SalesOrder", identity_column=column, role=role, records=records, own_records=own
        )
        alice.groups.add(Group.objects.create(name=role))
    perm = permission_for(identity(alice), "SalesOrder")
    assert [p.key for p in perm.owner_paths()] == ["customer__user", "order_id"]
    assert [p.key for p in perm.owner_paths(Level.WRITE)] == ["customer__user", "employee"]
    assert [p.key for p in perm.owner_paths(Level.DELETE)] == ["employee"]
    assert permission_for(identity(alice), "Customer").owner_paths() == ()


def test_resolve_owner_path_names_the_bad_segment() -> None:
    with pytest.raises(ValueError, match="'nope' is not a column of Customer"):
        resolve_owner_path(SalesOrder, "customer__nope")
    assert resolve_owner_path(SalesOrder, "Customer.userId").path == ("customer", "user")
    assert resolve_owner_path(Customer, None).path == ("cust_id",)


def test_misconfigured_identity_column_denies_instead_of_crashing(alice: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", identity_column="missing", role="USER", records="NONE", own_records="READ"
    )
    decision = decide(identity(alice), "Customer", Level.READ)
    assert decision.status_code == 403
    assert "misconfigured" in decision.message


def test_own_user_row_cannot_raise_its_own_role(alice: User) -> None:
    stored = {"id": alice.pk, "email": alice.email, "role": "USER"}
    assert decide(identity(alice), "User", Level.WRITE, data={**stored, "firstName": "A"}).allowed
    escalation = decide(identity(alice), "User", Level.WRITE, data={**stored, "role": "ADMIN"})
    assert escalation.status_code == 403
    assert "role" in escalation.message
    assert not decide(identity(alice), "User", Level.WRITE, data={**stored, "is_superuser": True}).allowed


# --- roles of a user; several roles -----------------------------------------------------------------------


def test_superuser_is_admin() -> None:
    root = User.objects.create_superuser("root@test.com", "pw", role="USER")
    assert identity(root).roles == {"ADMIN"}
    assert decide(identity(root), "_llana_role", Level.DELETE).allowed


@override_settings(LLANA={"ROLE_FIELD": None})
def test_without_a_role_field_group_names_are_roles(alice: User) -> None:
    alice.groups.add(Group.objects.create(name="USER"), Group.objects.create(name="EDITOR"))
    assert identity(alice).roles == {"USER", "EDITOR"}


@override_settings(LLANA={"ROLE_FIELD": None})
def test_most_permissive_role_wins(alice: User) -> None:
    Role.objects.create(custom=True, table="Customer", role="EDITOR", records="WRITE", allowed_fields="companyName")
    alice.groups.add(Group.objects.create(name="USER"))
    assert not decide(identity(alice), "Customer", Level.WRITE).allowed
    alice.groups.add(Group.objects.create(name="EDITOR"))
    decision = decide(identity(alice), "Customer", Level.WRITE)
    assert decision.allowed
    assert decision.fields == {"companyName"}
    # READ: USER's default row (all fields) and EDITOR's row (one field): the union, i.e. everything.
    assert decide(identity(alice), "Customer", Level.READ).fields is None


@override_settings(LLANA={"ROLE_FIELD": None})
def test_unrestricted_role_beats_own_records_role(alice: User, bob: User) -> None:
    Role.objects.create(
        custom=True, table="Customer", identity_column="userId", role="OWNER", records="NONE", own_records="READ"
    )
    alice.groups.add(Group.objects.create(name="OWNER"))
    customer(bob)
    assert decide(identity(alice), "Customer", Level.READ).restriction is not None
    alice.groups.add(Group.objects.create(name="USER"))
    assert decide(identity(alice), "Customer", Level.READ).restriction is None


# --- 6.4 allowed_fields merging ---------------------------------------------------------------------------


def test_role_fields_limit_the_output(alice: User) -> None:
    """Test-confirmed: role companyName,contactName + ?fields=companyName,contactName,contactTitle → the two
    (the engine gives the allowed set; the viewset intersects it with ``fields``)."""
    Role.objects.create(
        custom=True, table="Customer", role="USER", records="READ", allowed_fields="companyName,contactName"
    )
    allowed = decide(identity(alice), "Customer", Level.READ).fields
    assert allowed == {"companyName", "contactName"}
    assert allowed & {"companyName", "contactName", "contactTitle"} == {"companyName", "contactName"}


def test_role_list_replaces_the_public_list(alice: User) -> None:
    """Test-confirmed: public companyName + role companyName,contactName → both."""
    PublicTable.objects.create(table="Customer", access_level="READ", allowed_fields="companyName")
    Role.objects.create(
        custom=True, table="Customer", role="USER", records="READ", allowed_fields="companyName,contactName"
    )
    assert decide(identity(alice), "Customer", Level.READ).fields == {"companyName", "contactName"}


def test_admin_without_list_on_public_table_gets_the_public_list(admin: User) -> None:
    """Test-confirmed: an ADMIN (no list) on a table public with companyName → only companyName."""
    PublicTable.objects.create(table="Customer", access_level="READ", allowed_fields="companyName")
    assert decide(identity(admin), "Customer", Level.READ).fields == {"companyName"}


def test_anonymous_gets_the_public_list() -> None:
    PublicTable.objects.create(table="Employee", access_level="READ", allowed_fields="firstName, lastName")
    Employee.objects.create(first_name="Nancy", last_name="Davolio")
    assert decide(Identity.anonymous(), "Employee", Level.READ).fields == {"firstName", "lastName"}


# --- the realtime API: in-memory row checks -----------------------------------------------------------------


def test_row_allowed_applies_own_records_in_memory(
    alice: User, bob: User, own_customers: None, django_assert_num_queries
) -> None:
    perm = permission_for(
        identity(alice).__class__(user_pk=str(alice.pk), roles=frozenset({"USER"}), websocket=True), "Customer"
    )
    perm.decide(Level.READ)
    with django_assert_num_queries(0):
        assert perm.row_allowed({"custId": 1, "userId": alice.pk})
        assert not perm.row_allowed({"custId": 2, "userId": bob.pk})


def test_row_allowed_for_anonymous_needs_a_public_rule() -> None:
    assert not permission_for(Identity.anonymous(websocket=True), "Customer").row_allowed({"custId": 1})
    PublicTable.objects.create(table="Customer", access_level="READ")
    assert permission_for(Identity.anonymous(websocket=True), "Customer").row_allowed({"custId": 1})
