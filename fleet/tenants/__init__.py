"""Communes as tenants of one fleet: their boxes, users, groups, public page settings, and who sees what."""
