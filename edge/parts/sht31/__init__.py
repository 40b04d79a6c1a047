"""Sensirion SHT31 thermometer and hygrometer: config (config.py), live driver (part.py), simulated twin (twin.py)."""
