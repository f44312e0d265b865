"""Signals sent by llana besides Django's model signals (``llana.receivers`` connects llana's own receivers).

``soft_deleted(sender=model, instance=row)``: a row was soft deleted (its ``SOFT_DELETE_COLUMN`` set).
It is sent right after the row's ``post_save``, inside the write's transaction, so receivers that
publish should defer with ``transaction.on_commit`` (as for ``post_save``). The realtime feed uses it to
publish ``DELETE`` instead of ``UPDATE``.

``permissions_invalidated(sender=None)``: sent by ``llana.permissions.cache.invalidate()`` after the
identity cache was dropped (roles, public tables, groups or a user's standing changed); with
``users=[pk, ...]`` (strings) when only those users' standing changed. Inside a transaction, defer work to
its commit. Code holding decisions longer than a request listens to it.
"""

from __future__ import annotations

from django.dispatch import Signal

soft_deleted = Signal()
permissions_invalidated = Signal()
