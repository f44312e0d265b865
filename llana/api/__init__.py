"""The REST API: views, the query language, reading and writing rows, value conversion."""
