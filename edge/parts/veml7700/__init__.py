"""Vishay VEML7700 lux sensor: config (config.py), live driver (part.py), simulated twin (twin.py)."""
