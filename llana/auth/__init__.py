"""Authentication: where credentials travel (``credentials``), JWT tokens (``tokens``), who is calling
(``identities``) and the DRF authentication classes (``authentication``)."""
