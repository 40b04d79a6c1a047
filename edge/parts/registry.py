"""The registry of parts: adding a part is writing its folder and one line here."""

from __future__ import annotations

from edge.parts.bh1750.part import PART as BH1750
from edge.parts.digital_input.part import PART as DIGITAL_INPUT
from edge.parts.ds18b20.part import PART as DS18B20
from edge.parts.eastron.part import SDM120, SDM630
from edge.parts.modbus_meter.part import PART as MODBUS_METER
from edge.parts.part import Registry
from edge.parts.pulse_meter.part import PART as PULSE_METER
from edge.parts.relay.part import PART as RELAY
from edge.parts.sht31.part import PART as SHT31
from edge.parts.veml7700.part import PART as VEML7700

REGISTRY = Registry((
    BH1750,
    VEML7700,
    SHT31,
    DS18B20,
    PULSE_METER,
    SDM120,
    SDM630,
    MODBUS_METER,
    RELAY,
    DIGITAL_INPUT,
))
