"""Controllers: pure decisions from inputs, state and time; one sub-package per controller, listed in kinds.py."""
