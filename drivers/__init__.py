"""Hameau hardware drivers: one module per part, each given its bus object."""
