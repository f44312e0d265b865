"""The Llana table feed, an application on the generic Socket.IO server: a socket follows one table and
receives an event for each row change it may read. See docs/realtime.md."""
