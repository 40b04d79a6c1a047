"""Pulse-output water meter on a GPIO input: config (config.py), live driver (part.py), simulated twin (twin.py)."""
