"""Simulation: simulated buses and twins behind the real drivers, worlds, simulated time, and what a run measured."""
