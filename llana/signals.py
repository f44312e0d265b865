"""Signals sent by llana besides Django's model signals.

``soft_deleted(sender=model, instance=row)``: a row was soft deleted (its ``SOFT_DELETE_COLUMN`` set).
It is sent right after the row's ``post_save``, inside the write's transaction, so receivers that
publish should defer with ``transaction.on_commit`` (as for ``post_save``). The realtime feed uses it to
publish ``DELETE`` instead of ``UPDATE``.
"""
from __future__ import annotations

from django.dispatch import Signal

soft_deleted = Signal()
