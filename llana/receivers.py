"""llana's signal receivers, connected by ``LlanaConfig.ready()`` through ``connect()`` (each with a
``dispatch_uid``, so connecting twice is harmless).

- The identity cache (``llana.permissions.cache``) is invalidated when a ``Role``, a ``PublicTable`` or a
  ``Group`` changes (everything), or when one user's group membership, role field / ``is_active`` /
  ``is_superuser`` / password / ``SOFT_DELETE_COLUMN`` changes or the user is deleted (that user only; a
  save that changes none of these touches nothing): at once, so the writing transaction's own reads see
  the change, and again on commit (with ``permissions_invalidated``), so a reader that cached the old rows
  meanwhile can't keep them.
- The table registry (``llana.registry``) is rebuilt after a ``_llana_relation`` row changes or when
  ``LLANA``, ``AUTH_USER_MODEL`` or ``INSTALLED_APPS`` is overridden (tests).
- The JWT backend (``llana.auth.tokens``) is rebuilt when ``LLANA`` or ``SECRET_KEY`` changes.
- A user's tokens are revoked when their password changes or they are deactivated (``llana.auth.revocation``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from llana.auth import revocation
from llana.auth.tokens import clear_backend_cache
from llana.models import PublicTable, Relation, Role
from llana.permissions.cache import invalidate, watched_user_fields
from llana.registry import clear_registry


def permissions_changed(using: str | None = None, **kwargs: Any) -> None:
    """Invalidate the identity cache now (no notification), and again on commit (notifying)."""
    invalidate(notify=False)
    transaction.on_commit(invalidate, using=using, robust=True)


def user_changed(pks: list[Any], using: str | None = None) -> None:
    """Invalidate these users' cache entries now (no notification), and again on commit (notifying)."""
    invalidate(notify=False, users=pks)
    transaction.on_commit(partial(invalidate, users=pks), using=using, robust=True)


BEFORE = "_llana_watched_before"  # the watched values of a user row before its save


def _watched_columns(user_model: Any, update_fields: Any) -> list[str]:
    """The attnames of the watched concrete fields (of those in ``update_fields``, when given)."""
    watched = watched_user_fields(user_model)
    fields = [f for f in user_model._meta.concrete_fields if f.name in watched or f.attname in watched]
    if update_fields is not None:
        saved = set(update_fields)
        fields = [f for f in fields if f.name in saved or f.attname in saved]
    return [f.attname for f in fields]


def user_saving(sender: Any, instance: Any, update_fields: Any = None, using: str | None = None, **kwargs: Any) -> None:
    """Read the watched values of the row as stored, to compare after the save (one query per user save)."""
    if instance._state.adding or instance.pk is None:
        return
    columns = _watched_columns(sender, update_fields)
    if not columns:
        setattr(instance, BEFORE, {})
        return
    stored = sender._base_manager.using(using).filter(pk=instance.pk).values(*columns).first()
    setattr(instance, BEFORE, stored)


def user_saved(sender: Any, instance: Any, update_fields: Any = None, created: bool = False, **kwargs: Any) -> None:
    if created:
        return  # a new user has nothing cached yet
    before = instance.__dict__.pop(BEFORE, None)
    if before is not None and all(getattr(instance, name) == value for name, value in before.items()):
        return  # no watched value changed (e.g. update_last_login(), a profile edit)
    user_changed([instance.pk], using=kwargs.get("using"))


def user_deleted(sender: Any, instance: Any, using: str | None = None, **kwargs: Any) -> None:
    user_changed([instance.pk], using=using)


def membership_changed(
    action: str = "", instance: Any = None, reverse: bool = False, pk_set: Any = None, **kwargs: Any
) -> None:
    if not action.startswith("post_"):  # not again for pre_add/pre_remove/pre_clear
        return
    if not reverse:  # user.groups.add(...): one user
        user_changed([instance.pk], using=kwargs.get("using"))
    elif pk_set:  # group.user_set.add(...): those users
        user_changed(sorted(pk_set), using=kwargs.get("using"))
    else:  # group.user_set.clear(): members unknown now
        permissions_changed(**kwargs)


def relation_changed(**kwargs: Any) -> None:
    clear_registry()


def setting_was_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("LLANA", "AUTH_USER_MODEL", "INSTALLED_APPS"):
        clear_registry()
    if setting in ("LLANA", "SECRET_KEY"):
        clear_backend_cache()


def connect() -> None:
    """Connect every receiver above."""
    for model in (Role, PublicTable, Group):
        post_save.connect(permissions_changed, sender=model, dispatch_uid=f"llana.cache.save.{model._meta.label}")
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"llana.cache.delete.{model._meta.label}")
    user_model = get_user_model()
    pre_save.connect(user_saving, sender=user_model, dispatch_uid="llana.cache.user_saving")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="llana.cache.user_saved")
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid="llana.cache.user_deleted")
    through = getattr(getattr(user_model, "groups", None), "through", None)
    if through is not None:
        m2m_changed.connect(membership_changed, sender=through, dispatch_uid="llana.cache.user_groups")
    post_save.connect(relation_changed, sender=Relation, dispatch_uid="llana.registry.relation_saved")
    post_delete.connect(relation_changed, sender=Relation, dispatch_uid="llana.registry.relation_deleted")
    setting_changed.connect(setting_was_changed, dispatch_uid="llana.receivers.setting_changed")
    revocation.connect()
