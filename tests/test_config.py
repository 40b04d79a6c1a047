"""Config loading: the example is valid, and every kind of mistake is named by file, key and reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edge.config.buses import ModbusBusConfig
from edge.config.loader import ConfigError, load_config
from edge.parts.bh1750.config import BH1750Config
from edge.parts.modbus_meter.config import ModbusMeterConfig
from edge.parts.pulse_meter.config import PulseMeterConfig
from edge.parts.relay.config import RelayConfig

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"

BASE = """
[device]
id = "ecole-01"
latitude = 45.2
longitude = 5.7
timezone = "Europe/Paris"

[buses.i2c1]
type = "i2c"
number = 1

[buses.gpio]
type = "gpio"

[buses.rs485]
type = "modbus_rtu"
port = "/dev/ttyUSB0"

[[sensors]]
id = "lux"
driver = "bh1750"
bus = "i2c1"
address = 0x23

[[sensors]]
id = "water"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 1.0

[[actuators]]
id = "lights"
bus = "gpio"
pin = 22
safe_state = "on"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "box.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[tuple[str, str, str]]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    for problem in info.value.problems:
        assert problem.file == str(path)
        assert str(path) in str(info.value)
    return [(p.file, p.key, p.reason) for p in info.value.problems]


def _keys(tmp_path: Path, text: str) -> dict[str, str]:
    return {key: reason for _, key, reason in _problems(tmp_path, text)}


def test_config_example_loads_into_frozen_dataclasses() -> None:
    config = load_config(EXAMPLE)
    assert config.device.id == "saint-aubin-mairie"
    assert config.simulation.enabled
    kinds = {type(s).__name__ for s in config.sensors}
    assert {"BH1750Config", "PulseMeterConfig", "DS18B20Config", "EastronConfig"} <= kinds
    assert {s.driver for s in config.sensors} >= {"bh1750", "pulse_meter", "ds18b20", "sdm120"}
    assert len(config.actuators) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.device.id = "other"  # type: ignore[misc]


def test_config_base_is_valid_with_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, BASE))
    lux = config.sensors[0]
    assert isinstance(lux, BH1750Config) and lux.interval_s == 60.0 and lux.mode == "one_time"
    water = config.sensors[1]
    assert isinstance(water, PulseMeterConfig) and water.litres_per_pulse == 1.0
    relay = config.actuators[0]
    assert isinstance(relay, RelayConfig) and relay.safe_state is True and relay.active_high
    rs485 = config.bus("rs485")
    assert isinstance(rs485, ModbusBusConfig) and rs485.baudrate == 9600


def test_config_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].key == "(file)"
    assert "no such file" in str(info.value) and str(path) in str(info.value)


def test_config_syntax_error_gives_line(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE + "\n[[sensors]\nid = 'x'\n")
    assert "(syntax)" in keys and "line" in keys["(syntax)"]


def test_config_wrong_type_names_key(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("latitude = 45.2", 'latitude = "45.2"'))
    assert keys == {"device.latitude": "expected a number, got a string '45.2'"}


def test_config_bool_is_not_an_integer(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("pin = 17", "pin = true"))
    assert "expected an integer" in keys["sensors[1].pin"]


def test_config_unknown_driver_lists_known_ones(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('driver = "bh1750"', 'driver = "bh1751"'))
    assert list(keys) == ["sensors[0].driver"]
    assert "unknown driver 'bh1751'" in keys["sensors[0].driver"] and "bh1750" in keys["sensors[0].driver"]


def test_config_duplicate_ids_across_sensors_and_actuators(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('id = "lights"', 'id = "water"'))
    assert "duplicate id 'water'" in keys["actuators[0].id"] and "sensors[1].id" in keys["actuators[0].id"]


def test_config_pin_used_twice(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("pin = 22", "pin = 17"))
    assert "GPIO17 is already used by 'water'" in keys["actuators[0].pin"]


def test_config_feedback_pin_same_as_output_pin(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('safe_state = "on"', 'safe_state = "on"\nfeedback_pin = 22'))
    assert "GPIO22 is already used by 'lights'" in keys["actuators[0].feedback_pin"]


def test_config_i2c_address_out_of_range(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("address = 0x23", "address = 0x80"))
    assert "out of range" in keys["sensors[0].address"] and "0x77" in keys["sensors[0].address"]


def test_config_i2c_address_the_chip_cannot_have(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("address = 0x23", "address = 0x40"))
    assert "not an address a BH1750 can have (0x23, 0x5C)" in keys["sensors[0].address"]


def test_config_gpio_pin_out_of_range(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("pin = 22", "pin = 40"))
    assert "out of range [0, 27]" in keys["actuators[0].pin"]


def test_config_unknown_bus_reference(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('bus = "i2c1"', 'bus = "i2c9"'))
    assert "no bus 'i2c9'" in keys["sensors[0].bus"] and "i2c1" in keys["sensors[0].bus"]


def test_config_bus_of_wrong_type_for_driver(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('bus = "i2c1"', 'bus = "gpio"'))
    assert "needs a bus of type 'i2c'" in keys["sensors[0].bus"]


def test_config_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("litres_per_pulse = 1.0", "litre_per_pulse = 1.0"))
    assert "unknown key; did you mean 'litres_per_pulse'?" in keys["sensors[1].litre_per_pulse"]


def test_config_missing_required_key(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('timezone = "Europe/Paris"\n', ""))
    assert keys == {"device.timezone": "missing; expected a string"}


def test_config_missing_device_table(tmp_path: Path) -> None:
    text = BASE.split("[buses.i2c1]", 1)[1]
    keys = _keys(tmp_path, "[buses.i2c1]" + text)
    assert keys["device"] == "missing table"


def test_config_unknown_time_zone(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("Europe/Paris", "Europe/Saint-Aubin"))
    assert "unknown time zone" in keys["device.timezone"]


def test_config_latitude_out_of_range(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("latitude = 45.2", "latitude = 145.2"))
    assert "out of range [-90, 90]" in keys["device.latitude"]


def test_config_bad_device_id_for_topics(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('id = "ecole-01"', 'id = "ecole/01+"'))
    assert "lower-case letters" in keys["device.id"]


def test_config_pulse_meter_needs_exactly_one_ratio(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("litres_per_pulse = 1.0", "litres_per_pulse = 1.0\npulses_per_litre = 450.0"))
    assert "exactly one of" in keys["sensors[1].litres_per_pulse"]


def test_config_negative_ratio_rejected(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace("litres_per_pulse = 1.0", "litres_per_pulse = -1.0"))
    assert "must be > 0" in keys["sensors[1].litres_per_pulse"]


def test_config_bad_safe_state(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('safe_state = "on"', 'safe_state = "maybe"'))
    assert "'maybe' is not one of 'on', 'off'" in keys["actuators[0].safe_state"]


def test_config_bad_bus_type(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE.replace('type = "i2c"', 'type = "spi"'))
    assert "'spi' is not one of" in keys["buses.i2c1.type"]


def test_config_modbus_unit_out_of_range_and_shared(tmp_path: Path) -> None:
    text = BASE + """
[[sensors]]
id = "meter-a"
driver = "sdm120"
bus = "rs485"
unit_id = 300

[[sensors]]
id = "meter-b"
driver = "sdm120"
bus = "rs485"
unit_id = 1

[[sensors]]
id = "meter-c"
driver = "sdm630"
bus = "rs485"
unit_id = 1
"""
    keys = _keys(tmp_path, text)
    assert "out of range [1, 247]" in keys["sensors[2].unit_id"]
    assert "share bus 'rs485' at unit id 1" in keys["sensors[4]"]


def test_config_two_sensors_same_i2c_address(tmp_path: Path) -> None:
    text = BASE + '\n[[sensors]]\nid = "lux2"\ndriver = "bh1750"\nbus = "i2c1"\naddress = 0x23\n'
    keys = _keys(tmp_path, text)
    assert "'lux2' and 'lux' share bus 'i2c1' at address 0x23" in keys["sensors[2]"]


def test_config_modbus_meter_register_map(tmp_path: Path) -> None:
    text = BASE + """
[[sensors]]
id = "water-inlet"
driver = "modbus_meter"
bus = "rs485"
unit_id = 3

[[sensors.registers]]
name = "volume_total_l"
quantity = "volume"
address = 0
data_type = "uint32"

[[sensors.registers]]
name = "flow_lph"
quantity = "flow_rate"
address = 2
function = "input"
data_type = "float32"
"""
    config = load_config(_write(tmp_path, text))
    meter = config.sensors[2]
    assert isinstance(meter, ModbusMeterConfig)
    assert [r.name for r in meter.registers] == ["volume_total_l", "flow_lph"]
    assert meter.registers[0].function == "holding"


def test_config_modbus_meter_register_errors(tmp_path: Path) -> None:
    text = BASE + """
[[sensors]]
id = "water-inlet"
driver = "modbus_meter"
bus = "rs485"
unit_id = 3

[[sensors.registers]]
name = "volume_total"
quantity = "volume"
address = 0

[[sensors.registers]]
name = "flow_lph"
quantity = "flux"
address = 70000
"""
    keys = _keys(tmp_path, text)
    assert "must end with" in keys["sensors[2].registers[0].name"]
    assert "'flux' is not one of" in keys["sensors[2].registers[1].quantity"]
    assert "out of range" in keys["sensors[2].registers[1].address"]


def test_config_lists_every_problem_at_once(tmp_path: Path) -> None:
    text = BASE.replace("latitude = 45.2", "latitude = 145.2").replace("pin = 22", "pin = 99")
    text = text.replace('driver = "bh1750"', 'driver = "lux9000"')
    keys = _keys(tmp_path, text)
    assert {"device.latitude", "actuators[0].pin", "sensors[0].driver"} <= set(keys)


def test_config_array_where_table_expected(tmp_path: Path) -> None:
    keys = _keys(tmp_path, 'sensors = "none"\n' + BASE.replace("[[sensors]]", "[[other]]"))
    assert "expected an array of tables" in keys["sensors"]
    assert keys["other"].startswith("unknown key")


def test_config_simulation_unplugged_must_name_sensors(tmp_path: Path) -> None:
    keys = _keys(tmp_path, BASE + '\n[simulation]\nenabled = true\nunplugged = ["lux", "ghost"]\n')
    assert keys == {"simulation.unplugged": "no sensor 'ghost' to unplug"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan", "1e400", "999999999999999999999999999999" * 12])
def test_config_rejects_numbers_that_are_not_finite(tmp_path: Path, value: str) -> None:
    text = BASE.replace("latitude = 45.2", f"latitude = {value}") + f"\n[agent]\ntick_s = {value}\n"
    keys = _keys(tmp_path, text)
    assert keys["device.latitude"].startswith("expected a finite number")
    assert keys["agent.tick_s"].startswith("expected a finite number")


def test_config_file_starting_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "box.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_config(path).device.id == "ecole-01"


def test_config_db_path_must_name_a_file(tmp_path: Path) -> None:
    empty = _keys(tmp_path, BASE + '\n[agent]\ndb_path = " "\n')
    assert empty["agent.db_path"].startswith("is empty")
    directory = _keys(tmp_path, BASE + f'\n[agent]\ndb_path = "{tmp_path}"\n')
    assert directory["agent.db_path"] == f"{str(tmp_path)!r} is a directory: give the database file's path in it, e.g. {tmp_path}/hameau.db"
    assert "is a directory" in _keys(tmp_path, BASE + '\n[agent]\ndb_path = "data/"\n')["agent.db_path"]


def test_config_db_path_with_a_tilde_is_in_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(_write(tmp_path, BASE + '\n[agent]\ndb_path = "~/state/box.db"\n'))
    assert config.agent.db_path == tmp_path / "home" / "state" / "box.db"
