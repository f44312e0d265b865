"""DRF authentication classes used by every llana endpoint (API key, then JWT)."""
from __future__ import annotations

from rest_framework.authentication import BaseAuthentication

# The classes every llana view uses, in order. Filled in by the identities work (API key, JWT).
AUTHENTICATION_CLASSES: list[type[BaseAuthentication]] = []
