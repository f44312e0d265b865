"""Settings of the servers started by ``bench/realtime_feed.py``: the example project's, plus two bench hooks.

- ``LLANA_FEED_PREFIX``: a Redis channel-layer and cache prefix of the run's own (parallel runs don't mix).
- ``LLANA_BENCH_QUERY_LOG``: a file to which every database query the server runs appends one line
  (``<thread> <first 80 characters of the SQL>``), through Django's ``connection.execute_wrapper()`` on each
  new connection. The bench counts the lines written while the writer runs: queries per event.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.db.backends.signals import connection_created

from project.settings import *  # noqa: F403
from project.settings import CACHES, CHANNEL_LAYERS, REDIS_URL

_prefix = os.environ.get("LLANA_FEED_PREFIX")
if REDIS_URL and _prefix:
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _prefix
    CACHES["default"]["KEY_PREFIX"] = _prefix

_query_log = os.environ.get("LLANA_BENCH_QUERY_LOG")
_lock = threading.Lock()


def _count_queries(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    line = f"{threading.current_thread().name} {' '.join(str(sql).split())[:80]}\n"
    with _lock, open(_query_log or os.devnull, "a") as log:
        log.write(line)
    return execute(sql, params, many, context)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count_queries not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_queries)


if _query_log:
    connection_created.connect(_install, dispatch_uid="bench.realtime_feed.count_queries")
