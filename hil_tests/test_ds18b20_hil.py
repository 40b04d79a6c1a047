"""DS18B20 driver against a simulated Linux w1 sysfs tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.ds18b20 import DS18B20
from drivers.errors import BadCRCError, NotPluggedError, OutOfRangeError
from drivers.onewire import W1Bus
from drivers.sim.onewire import SimW1Tree

ROM = "28-0316a2794aff"
OTHER = "28-000005e2fdc3"


@pytest.fixture
def tree(tmp_path: Path) -> SimW1Tree:
    tree = SimW1Tree(tmp_path / "devices")
    tree.add_ds18b20(ROM, 23.125)
    return tree


@pytest.fixture
def sensor(tree: SimW1Tree) -> DS18B20:
    return DS18B20(W1Bus(tree.root, name="w1"), ROM)


def temperature_c(sensor: DS18B20) -> float:
    (only,) = sensor.read()
    assert (only.name, only.quantity, only.unit) == ("temperature_c", "temperature", "°C")
    return only.value


def test_sim_w1_tree_writes_the_kernel_w1_slave_format(tree: SimW1Tree) -> None:
    text = (tree.root / ROM / "w1_slave").read_text()
    assert text == "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    assert (tree.root / "w1_bus_master1" / "w1_master_slaves").read_text() == f"{ROM}\n"
    assert (tree.root / ROM / "temperature").read_text() == "23125\n"


def test_ds18b20_reads_good_value(sensor: DS18B20) -> None:
    assert temperature_c(sensor) == 23.125


def test_ds18b20_follows_temperature_changes_including_negative(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_temperature(ROM, -10.125)
    assert temperature_c(sensor) == -10.125
    tree.set_temperature(ROM, -55.0)
    assert temperature_c(sensor) == -55.0


def test_ds18b20_decodes_lower_resolution(tree: SimW1Tree) -> None:
    tree.add_ds18b20(OTHER, 21.3, resolution_bits=9)
    assert temperature_c(DS18B20(W1Bus(tree.root), OTHER)) == 21.5


def test_ds18b20_bad_crc_raises_bad_crc_error(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_fault(ROM, "bad_crc")
    assert " NO\n" in (tree.root / ROM / "w1_slave").read_text()
    with pytest.raises(BadCRCError) as caught:
        sensor.read()
    assert caught.value.address == ROM


def test_ds18b20_recomputes_crc_even_when_kernel_says_yes(tmp_path: Path) -> None:
    device = tmp_path / ROM
    device.mkdir()
    # Temperature byte changed after the kernel's verdict: CRC no longer matches.
    (device / "w1_slave").write_text(
        "73 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n73 01 4b 46 7f ff 0e 10 57 t=23187\n"
    )
    with pytest.raises(BadCRCError) as caught:
        DS18B20(W1Bus(tmp_path), ROM).read()
    assert "mismatch" in caught.value.reason


def test_ds18b20_power_on_85_raises_out_of_range(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_fault(ROM, "power_on")
    assert (tree.root / ROM / "w1_slave").read_text().startswith("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES")
    with pytest.raises(OutOfRangeError) as caught:
        sensor.read()
    assert "power-on reset value" in caught.value.reason
    assert "wiring/power" in caught.value.reason


def test_ds18b20_outside_datasheet_range_raises_out_of_range(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_temperature(ROM, 126.0)
    with pytest.raises(OutOfRangeError):
        sensor.read()
    tree.set_temperature(ROM, -127.0)
    with pytest.raises(OutOfRangeError) as caught:
        sensor.read()
    assert "-127" in caught.value.reason


def test_ds18b20_disconnected_raises_bad_crc_error(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_fault(ROM, "disconnected")
    assert (tree.root / ROM / "w1_slave").read_text().startswith("ff ff ff ff ff ff ff ff ff : crc=c9 NO")
    with pytest.raises(BadCRCError) as caught:
        sensor.read()
    assert "0xff" in caught.value.reason


def test_ds18b20_unplug_mid_run_then_plug_back(tree: SimW1Tree, sensor: DS18B20) -> None:
    assert temperature_c(sensor) == 23.125
    tree.unplug(ROM)
    with pytest.raises(NotPluggedError) as caught:
        sensor.read()
    error = caught.value
    assert (error.part, error.bus, error.address) == ("DS18B20", "w1", ROM)
    assert ROM in str(error)
    tree.set_temperature(ROM, 19.5)
    tree.plug(ROM)
    assert temperature_c(sensor) == 19.5


def test_ds18b20_fault_cleared_reads_again(tree: SimW1Tree, sensor: DS18B20) -> None:
    tree.set_fault(ROM, "bad_crc")
    with pytest.raises(BadCRCError):
        sensor.read()
    tree.set_fault(ROM, None)
    assert temperature_c(sensor) == 23.125


def test_w1_bus_list_devices_follows_plug_and_unplug(tree: SimW1Tree) -> None:
    bus = W1Bus(tree.root)
    tree.add_ds18b20(OTHER, 5.0)
    assert bus.list_devices() == [OTHER, ROM]
    assert bus.list_devices(family="28") == [OTHER, ROM]
    assert bus.list_devices(family="10") == []
    tree.unplug(ROM)
    assert bus.list_devices() == [OTHER]
    assert (tree.root / "w1_bus_master1" / "w1_master_slaves").read_text() == f"{OTHER}\n"
    assert not bus.has_device(ROM)


def test_w1_bus_without_tree_lists_nothing(tmp_path: Path) -> None:
    assert W1Bus(tmp_path / "missing").list_devices() == []


def test_ds18b20_rejects_other_families(tree: SimW1Tree) -> None:
    with pytest.raises(ValueError):
        DS18B20(W1Bus(tree.root), "10-000802b4f3c1")
