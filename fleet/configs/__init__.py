"""Desired box configs: fragments per device and group, merged, checked with the box loader, published."""
