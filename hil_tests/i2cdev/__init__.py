"""Hardware-in-the-loop through the real smbus2 and the kernel's i2c-dev ioctls, emulated with umockdev.

The chip models (chip_*.py) are independent oracles written from the datasheets: nothing here is
imported from drivers/ or drivers/sim/. abi, i2c_bus, chip_* and helper run in the testbed process
under Debian's /usr/bin/python3 (standard library plus GObject introspection for umockdev); testbed,
scenario, expected, conftest and the test modules run in the project's virtual environment.
"""
