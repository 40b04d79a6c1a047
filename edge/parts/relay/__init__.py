"""Relay or contactor coil on a GPIO output: config (config.py), live driver (part.py), simulated twin (twin.py)."""
