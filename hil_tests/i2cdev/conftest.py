"""Fixtures for the umockdev tests: the emulated box, skipped (or failed) when umockdev is missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from i2cdev.scenario import default_spec
from i2cdev.testbed import UmockdevBox, require_umockdev


@pytest.fixture
def umockdev_box() -> Iterator[UmockdevBox]:
    """A running testbed with the default chips; stopped and deleted after the test."""
    require_umockdev()
    box = UmockdevBox(default_spec())
    try:
        box.start()
        yield box
    finally:
        box.close()
