"""The OpenAPI document of the API (``document``) and the docs page that renders it (``docs_views``)."""
