"""`hameau-edge probe` through the real smbus2 and i2c-dev ioctls (umockdev) against datasheet chip models."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from i2cdev import expected as ds
from i2cdev.scenario import (
    ABSENT_BH1750_ADDRESS,
    AIR_HUMIDITY_PCT,
    AIR_TEMPERATURE_C,
    BH1750_ADDRESS,
    CELLAR_BITS,
    CELLAR_ROM,
    CELLAR_TEMPERATURE_C,
    I2C_BUS_ID,
    LUX_BH1750_LX,
    LUX_VEML7700_LX,
    ROOM_BITS,
    ROOM_ROM,
    ROOM_TEMPERATURE_C,
    SHT31_ADDRESS,
    VEML7700_ADDRESS,
    W1_BUS_ID,
    default_spec,
    write_box_config,
)
from i2cdev.testbed import (
    I2CMessage,
    UmockdevBox,
    hameau_edge,
    i2c_messages,
    require_umockdev,
    w1_conversions,
)


@dataclass(frozen=True)
class ProbeRun:
    """One `hameau-edge probe --json` and what the chips saw meanwhile."""

    returncode: int
    stderr: str
    report: dict[str, Any]
    entries: list[dict[str, Any]]

    def sensor(self, sensor_id: str) -> dict[str, Any]:
        """The report entry of a sensor."""
        return next(s for s in self.report["sensors"] if s["id"] == sensor_id)

    def value(self, sensor_id: str, name: str) -> float:
        """One reading of a sensor."""
        entry = self.sensor(sensor_id)
        assert entry["ok"], entry
        return next(r["value"] for r in entry["readings"] if r["name"] == name)

    def messages(self, addr: int) -> list[I2CMessage]:
        """The messages at one address, before the scan started (the sensor reads only)."""
        scan_start = next(m.seq for m in i2c_messages(self.entries) if m.smbus == "QUICK write")
        return [m for m in i2c_messages(self.entries, addr) if m.seq < scan_start]


def probe(box: UmockdevBox, **config_options: Any) -> ProbeRun:
    """Run the probe in the emulated box and keep the transaction log."""
    config = write_box_config(box.workdir / "box.toml", **config_options)
    result = box.run([hameau_edge(), "probe", "--config", str(config), "--json"])
    assert result.stdout, f"probe printed nothing (exit {result.returncode}):\n{result.stderr}\n{box.helper_stderr()}"
    assert not box.helper_stderr(), box.helper_stderr()
    return ProbeRun(result.returncode, result.stderr, json.loads(result.stdout), box.entries())


@pytest.fixture(scope="module")
def probe_run() -> ProbeRun:
    """One probe of the full box (every chip and thermometer present)."""
    require_umockdev()
    with UmockdevBox(default_spec()) as box:
        return probe(box)


def test_probe_exits_0_with_every_sensor_read_on_real_buses(probe_run: ProbeRun) -> None:
    assert probe_run.returncode == 0, probe_run.report
    assert probe_run.report["simulated"] is False
    assert [(s["id"], s["ok"]) for s in probe_run.report["sensors"]] == [
        ("lux-bh", True), ("lux-veml", True), ("air", True), ("room", True), ("cellar", True),
    ]


def test_probe_bh1750_reads_the_illuminance_quantised_as_the_chip_counts(probe_run: ProbeRun) -> None:
    messages = probe_run.messages(BH1750_ADDRESS)
    resolution, mtreg = ds.bh1750_last_setting(messages)
    count = ds.bh1750_count(LUX_BH1750_LX, resolution, mtreg)
    assert messages[-1].data == count.to_bytes(2, "big")  # high byte first
    per_lx = ds.bh1750_counts_per_lx(resolution, mtreg)
    reading_lx = probe_run.value("lux-bh", "illuminance_lx")
    assert reading_lx == pytest.approx(count / per_lx, abs=1e-9)
    assert 0 <= LUX_BH1750_LX - reading_lx < 1 / per_lx  # within the one count the chip truncates


def test_probe_bh1750_saw_power_on_reset_one_time_h_then_a_2_byte_read_after_the_measurement(
    probe_run: ProbeRun,
) -> None:
    messages = probe_run.messages(BH1750_ADDRESS)
    assert all(m.ack for m in messages)
    assert ds.writes(messages)[:2] == [b"\x01", b"\x07"]  # power on, reset
    assert all(m.ioctl == "I2C_SMBUS" and m.smbus == "BYTE write" for m in messages if m.dir == "w")
    assert all(m.ioctl == "I2C_RDWR" and m.length == 2 for m in messages if m.dir == "r")
    mtreg, measured = 69, []
    for index, message in enumerate(messages):
        opcode = message.data[0] if message.dir == "w" else None
        if opcode is not None:
            mtreg = ds.bh1750_mtreg_after(opcode, mtreg)
        if opcode in ds.BH1750_MEASUREMENTS:
            assert opcode in ds.BH1750_ONE_TIME  # mode = "one_time" in the config
            read = next(m for m in messages[index + 1:] if m.dir == "r")
            wait_s = ds.BH1750_MAX_TIME_S[ds.BH1750_MEASUREMENTS[opcode]] * mtreg / 69
            assert read.t_s - message.t_s >= wait_s, "read before the measurement time was up"
            measured.append(opcode)
    assert measured[0] == 0x20  # one time H-resolution first; auto-ranging may follow (H2 at a longer MTreg)
    assert messages[-1].dir == "r"


def test_probe_veml7700_reads_the_illuminance_through_the_app_note_correction(probe_run: ProbeRun) -> None:
    messages = probe_run.messages(VEML7700_ADDRESS)
    gain, integration_ms = ds.veml_last_setting(messages)
    counts = ds.veml_counts(LUX_VEML7700_LX, gain, integration_ms)
    als_read = messages[-1]
    assert (messages[-2].data, als_read.dir) == (b"\x04", "r")
    assert als_read.data == counts.to_bytes(2, "little")  # LSB first
    reading_lx = probe_run.value("lux-veml", "illuminance_lx")
    assert reading_lx == pytest.approx(ds.veml_lux(counts, gain, integration_ms), rel=1e-12)
    one_count_lx = ds.veml_lux(counts + 1, gain, integration_ms) - ds.veml_lux(counts, gain, integration_ms)
    assert 0 <= LUX_VEML7700_LX - reading_lx < one_count_lx


def test_probe_veml7700_saw_id_read_then_als_conf_writes_then_als_read_after_integration(
    probe_run: ProbeRun,
) -> None:
    messages = probe_run.messages(VEML7700_ADDRESS)
    assert all(m.ack and m.ioctl == "I2C_SMBUS" for m in messages)
    assert [m.smbus for m in messages[:2]] == ["WORD_DATA read"] * 2
    assert (messages[0].data, messages[1].data) == (b"\x07", b"\x81\xc4")  # ID 0xC481, LSB first
    written = ds.writes(messages)[1:]  # after the ID pointer
    registers = [w[0] for w in written if len(w) == 3]
    assert 0x00 in registers and set(registers) <= {0x00, 0x01, 0x02, 0x03}
    last_enable = max(i for i, m in enumerate(messages) if m.dir == "w" and m.data[:1] == b"\x00" and len(m.data) == 3)
    _, integration_ms, _ = ds.veml_setting(int.from_bytes(messages[last_enable].data[1:], "little"))
    als_read = messages[-1]
    wake_s = ds.VEML_WAKE_UP_S if messages[last_enable - 1].data[1] & 1 else 0.0
    assert als_read.t_s - messages[last_enable].t_s >= wake_s + integration_ms / 1000


def test_probe_sht31_reads_temperature_and_humidity_within_one_code(probe_run: ProbeRun) -> None:
    temperature_code = ds.sht_temperature_code(AIR_TEMPERATURE_C)
    humidity_code = ds.sht_humidity_code(AIR_HUMIDITY_PCT)
    temperature_c = probe_run.value("air", "temperature_c")
    humidity_pct = probe_run.value("air", "relative_humidity_pct")
    assert temperature_c == pytest.approx(-45 + 175 * temperature_code / 65535, abs=1e-9)
    assert humidity_pct == pytest.approx(100 * humidity_code / 65535, abs=1e-9)
    assert abs(temperature_c - AIR_TEMPERATURE_C) <= 175 / 65535 / 2
    assert abs(humidity_pct - AIR_HUMIDITY_PCT) <= 100 / 65535 / 2


def test_probe_sht31_saw_soft_reset_then_single_shot_then_a_6_byte_read(probe_run: ProbeRun) -> None:
    messages = probe_run.messages(SHT31_ADDRESS)
    assert all(m.ack and m.ioctl == "I2C_RDWR" for m in messages)
    assert [(m.dir, m.data) for m in messages[:3]] == [
        ("w", ds.SHT_SOFT_RESET), ("w", ds.SHT_CLEAR_STATUS), ("w", ds.SHT_MEASURE_HIGH_NO_STRETCH),
    ]
    assert messages[1].t_s - messages[0].t_s >= ds.SHT_SOFT_RESET_MAX_S
    read = messages[3]
    assert (read.dir, read.length, len(messages)) == ("r", 6, 4)
    assert read.t_s - messages[2].t_s >= ds.SHT_HIGH_MAX_S
    assert read.data == ds.sht_frame(AIR_TEMPERATURE_C, AIR_HUMIDITY_PCT)


def test_probe_ds18b20_reads_each_thermometer_at_its_resolution(probe_run: ProbeRun) -> None:
    assert probe_run.value("room", "temperature_c") == ds.ds18b20_temperature_c(ROOM_TEMPERATURE_C, ROOM_BITS)
    assert probe_run.value("cellar", "temperature_c") == ds.ds18b20_temperature_c(CELLAR_TEMPERATURE_C, CELLAR_BITS)
    assert ds.ds18b20_temperature_c(CELLAR_TEMPERATURE_C, CELLAR_BITS) == -3.5  # 9 bits: 0.5 °C steps
    assert [len(w1_conversions(probe_run.entries, rom)) for rom in (ROOM_ROM, CELLAR_ROM)] == [1, 1]


def test_probe_scan_quick_writes_every_address_and_finds_the_three_chips(probe_run: ProbeRun) -> None:
    quick = [m for m in i2c_messages(probe_run.entries) if m.smbus == "QUICK write"]
    assert sorted(m.addr for m in quick) == list(range(0x08, 0x78))
    assert sorted(m.addr for m in quick if m.ack) == [VEML7700_ADDRESS, BH1750_ADDRESS, SHT31_ADDRESS]
    controls = [(e["ioctl"], e["value"]) for e in probe_run.entries if e.get("ioctl") in ("I2C_FUNCS", "I2C_SLAVE")]
    assert controls[0] == ("I2C_FUNCS", 0x0EFF0009)  # smbus2 asks on open: plain I2C + SMBus emulation
    assert {value for name, value in controls if name == "I2C_SLAVE"} >= set(range(0x08, 0x78))
    assert probe_run.report["i2c"] == [
        {"bus": I2C_BUS_ID, "found": ["0x10", "0x23", "0x44"], "missing": [], "unexpected": []}
    ]
    assert probe_run.report["onewire"] == [
        {"bus": W1_BUS_ID, "found": sorted([ROOM_ROM, CELLAR_ROM]), "missing": [], "unexpected": []}
    ]


def test_probe_names_unplugged_and_absent_parts_as_not_plugged(umockdev_box: UmockdevBox) -> None:
    umockdev_box.unplug(f"0x{SHT31_ADDRESS:02x}")
    umockdev_box.unplug(CELLAR_ROM)
    umockdev_box.set(ROOM_ROM, temperature_c=4.56)
    umockdev_box.set(f"0x{BH1750_ADDRESS:02x}", illuminance_lx=12.3)
    run = probe(umockdev_box, with_absent_bh1750=True)
    assert run.returncode == 1
    errors = {s["id"]: s["error"] for s in run.report["sensors"] if not s["ok"]}
    assert sorted(errors) == ["air", "cellar", "lux-spare"]
    where = {sensor_id: (e["code"], e["part"], e["bus"], e["address"]) for sensor_id, e in errors.items()}
    assert where == {
        "air": ("not_plugged", "SHT31", I2C_BUS_ID, "0x44"),
        "lux-spare": ("not_plugged", "BH1750", I2C_BUS_ID, f"0x{ABSENT_BH1750_ADDRESS:02x}"),
        "cellar": ("not_plugged", "DS18B20", W1_BUS_ID, CELLAR_ROM),
    }
    assert "SHT31 on i2c1 at 0x44" in errors["air"]["message"]
    assert run.report["i2c"][0] == {"bus": I2C_BUS_ID, "found": ["0x10", "0x23"], "missing": ["0x44", "0x5C"],
                                   "unexpected": []}
    assert run.report["onewire"][0]["missing"] == [CELLAR_ROM]
    nacked = {m.addr for m in i2c_messages(run.entries) if not m.ack and m.smbus != "QUICK write"}
    assert nacked == {SHT31_ADDRESS, ABSENT_BH1750_ADDRESS}  # the drivers' own transfers, refused on the bus
    assert run.value("room", "temperature_c") == ds.ds18b20_temperature_c(4.56, ROOM_BITS)  # the parts still there
    resolution, mtreg = ds.bh1750_last_setting(run.messages(BH1750_ADDRESS))
    count = ds.bh1750_count(12.3, resolution, mtreg)
    assert run.value("lux-bh", "illuminance_lx") == pytest.approx(count / ds.bh1750_counts_per_lx(resolution, mtreg))
