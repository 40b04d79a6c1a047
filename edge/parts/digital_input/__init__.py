"""A contact on a GPIO input (key switch): config (config.py), live driver (part.py), simulated twin (twin.py)."""
