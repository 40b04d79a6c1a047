"""Simulated buses and parts that answer like the real ones, for tests and laptops."""
