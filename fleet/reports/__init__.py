"""Inhabitants' reports: what they see in the street, linked to the nearest fitting box as an alarm."""
