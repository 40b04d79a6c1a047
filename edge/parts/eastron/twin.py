"""The Eastron meters' simulated twins: SDM120 or SDM630 register maps on the simulated RS-485 line."""

from __future__ import annotations

from drivers.sim.modbus_slave import SimRegisterDevice, SimSDM120, SimSDM630
from edge.parts.eastron.config import EastronConfig
from edge.simulation.box import SimBox

#: What the meter shows before the world drives it: a reading a technician recognises.
START_ENERGY_KWH = {"sdm120": 1234.5, "sdm630": 4321.0}


def attach(cfg: EastronConfig, box: SimBox) -> None:
    """Put the model's simulated meter at its unit id, loaded as the [simulation] table says."""
    sim = box.start
    power_w = sim.voltage_v * sim.current_a
    energy_kwh = START_ENERGY_KWH[cfg.driver]
    meter: SimRegisterDevice
    if cfg.driver == "sdm120":
        meter = SimSDM120(
            voltage_v=sim.voltage_v, current_a=sim.current_a, active_power_w=power_w,
            apparent_power_va=power_w, power_factor=1.0, import_energy_kwh=energy_kwh, total_energy_kwh=energy_kwh,
        )
    else:
        meter = SimSDM630(
            voltage_l1_v=sim.voltage_v, voltage_l2_v=sim.voltage_v, voltage_l3_v=sim.voltage_v,
            current_l1_a=sim.current_a, current_l2_a=sim.current_a, current_l3_a=sim.current_a,
            active_power_l1_w=power_w, active_power_l2_w=power_w, active_power_l3_w=power_w,
            active_power_w=3 * power_w, import_energy_kwh=energy_kwh, total_energy_kwh=energy_kwh,
        )
    box.attach_modbus(cfg.id, cfg.bus, cfg.unit_id, meter)
