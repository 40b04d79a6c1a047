"""Any Modbus RTU meter with a register map declared in the config: config (config.py), driver (part.py), twin (twin.py)."""
