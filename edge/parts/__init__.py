"""The parts a box can have, one folder each (config.py, part.py, twin.py), listed once in registry.py."""
