"""The Engine.IO server (``llana_realtime.engineio``) adapted to ASGI and Django Channels.

``consumers`` (the two transports as plain ASGI apps), ``routing`` (URL patterns mounting a server),
``middleware`` (``JWTAuthMiddleware``), ``scope`` (ASGI types and scope helpers) and ``asgi``
(``application(django_asgi_app)``: the whole ASGI application of a project). See docs/realtime-server.md.
"""
