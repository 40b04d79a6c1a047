"""Eastron SDM120 and SDM630 energy meters (one config type): config (config.py), live drivers (part.py), twins (twin.py)."""
