"""The box's hardware: its buses opened (buses.py) and every part's driver built on them (assembly.py)."""
