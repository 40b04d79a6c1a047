"""ROHM BH1750 lux sensor: config (config.py), live driver (part.py), simulated twin (twin.py)."""
