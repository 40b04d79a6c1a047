"""The box's local store: one SQLite file (store.py) with its schema and migrations (schema.py)."""
