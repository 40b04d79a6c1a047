"""The fleet controller's exceptions: each says what is wrong in one line a user can act on."""

from __future__ import annotations


class FleetError(Exception):
    """Base of every error the fleet controller raises on purpose."""


class FleetConfigError(FleetError):
    """A command-line argument, URL or file the fleet was given cannot be used."""


class StoreError(FleetError):
    """The fleet store cannot be opened or written (says which file and SQLite's cause)."""


class NewerSchemaError(StoreError):
    """The fleet store was written by a newer Hameau than this one."""
