"""A test-only app with the relation shapes the demo lacks: two foreign keys to one table, a many-to-many."""
