"""Maxim DS18B20 1-Wire thermometer: config (config.py), live driver (part.py), simulated twin (twin.py)."""
