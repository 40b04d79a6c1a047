"""The box's configuration: its TOML file read once into frozen dataclasses (loader.py), every problem named."""
