"""Settings of the example project as the feed tests serve it: ``project.settings`` plus test isolation.

``LLANA_FEED_PREFIX`` gives the Redis channel layer and cache their own prefix, so that parallel runs (and
other test modules) sharing one Redis never see each other's events or cached identities. Nothing else
changes: the servers run the example project (``project.asgi:application``) as a user would.
"""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403
from project.settings import CACHES, CHANNEL_LAYERS, REDIS_URL

_prefix = os.environ.get("LLANA_FEED_PREFIX")
if REDIS_URL and _prefix:
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _prefix
    CACHES["default"]["KEY_PREFIX"] = _prefix
