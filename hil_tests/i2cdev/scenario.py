"""The emulated box of the umockdev tests: what each chip measures, and the box's TOML config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

I2C_BUS_ID = "i2c1"
W1_BUS_ID = "w1"
BH1750_ADDRESS, VEML7700_ADDRESS, SHT31_ADDRESS = 0x23, 0x10, 0x44
ABSENT_BH1750_ADDRESS = 0x5C  # the BH1750's other address (ADDR pin high): nothing answers there
LUX_BH1750_LX = 321.5
LUX_VEML7700_LX = 250.0
AIR_TEMPERATURE_C = 21.37
AIR_HUMIDITY_PCT = 47.5
ROOM_ROM, ROOM_TEMPERATURE_C, ROOM_BITS = "28-0316a2794aff", 21.4, 12
CELLAR_ROM, CELLAR_TEMPERATURE_C, CELLAR_BITS = "28-000005e2fdc3", -3.3, 9
SENSOR_IDS = {"lux-bh": BH1750_ADDRESS, "lux-veml": VEML7700_ADDRESS, "air": SHT31_ADDRESS}


def default_spec() -> dict[str, Any]:
    """The chips on i2c-1 and the thermometers on the 1-Wire bus, with what they measure."""
    return {
        "i2c_bus": 1,
        "chips": [
            {"part": "BH1750", "address": BH1750_ADDRESS, "illuminance_lx": LUX_BH1750_LX},
            {"part": "VEML7700", "address": VEML7700_ADDRESS, "illuminance_lx": LUX_VEML7700_LX},
            {"part": "SHT31", "address": SHT31_ADDRESS, "temperature_c": AIR_TEMPERATURE_C,
             "relative_humidity_pct": AIR_HUMIDITY_PCT},
        ],
        "thermometers": [
            {"rom_id": ROOM_ROM, "temperature_c": ROOM_TEMPERATURE_C, "resolution_bits": ROOM_BITS},
            {"rom_id": CELLAR_ROM, "temperature_c": CELLAR_TEMPERATURE_C, "resolution_bits": CELLAR_BITS},
        ],
    }


def write_box_config(
    path: Path, *, db_path: Path | None = None, interval_s: float = 1.0, tick_s: float = 1.0,
    with_absent_bh1750: bool = False,
) -> Path:
    """A real (not simulated) box config: i2c bus 1 with the three chips, the 1-Wire sysfs with two DS18B20."""
    sensors = [
        ("lux-bh", "bh1750", I2C_BUS_ID, f"address = 0x{BH1750_ADDRESS:02x}\nmode = \"one_time\""),
        ("lux-veml", "veml7700", I2C_BUS_ID, f"address = 0x{VEML7700_ADDRESS:02x}"),
        ("air", "sht31", I2C_BUS_ID, f"address = 0x{SHT31_ADDRESS:02x}"),
        ("room", "ds18b20", W1_BUS_ID, f'rom_id = "{ROOM_ROM}"'),
        ("cellar", "ds18b20", W1_BUS_ID, f'rom_id = "{CELLAR_ROM}"'),
    ]
    if with_absent_bh1750:
        sensors.append(("lux-spare", "bh1750", I2C_BUS_ID, f"address = 0x{ABSENT_BH1750_ADDRESS:02x}"))
    text = (
        '[device]\nid = "umockdev-bench"\nname = "Banc i2c-dev"\nlatitude = 45.187\nlongitude = 5.726\n'
        'timezone = "Europe/Paris"\n\n'
        f'[buses.{I2C_BUS_ID}]\ntype = "i2c"\nnumber = 1\n\n'
        f'[buses.{W1_BUS_ID}]\ntype = "onewire"\npath = "/sys/bus/w1/devices"\n'
    )
    for sensor_id, driver, bus, extra in sensors:
        text += (
            f'\n[[sensors]]\nid = "{sensor_id}"\ndriver = "{driver}"\nbus = "{bus}"\n{extra}\n'
            f"interval_s = {interval_s}\n"
        )
    if db_path is not None:
        text += f'\n[agent]\ndb_path = "{db_path}"\ncommit_interval_s = 1\ntick_s = {tick_s}\n'
    path.write_text(text, encoding="utf-8")
    return path
