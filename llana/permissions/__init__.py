"""Permissions: the roles engine (``engine``), table owners (``ownership``) and the identity cache (``cache``)."""
