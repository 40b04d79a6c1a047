"""PulseMeter against a simulated pulse output on a SimPinFactory pin."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from drivers.pulse_meter import PulseMeter
from drivers.reading import Reading
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.pulses import PulseSource

PIN = 17


@pytest.fixture
def clock_start_s() -> float:
    return 1000.0


@pytest.fixture
def make_meter(factory: SimPinFactory) -> Iterator[Callable[..., PulseMeter]]:
    meters: list[PulseMeter] = []

    def make(**kwargs: object) -> PulseMeter:
        meter = PulseMeter(factory, PIN, **kwargs)  # type: ignore[arg-type]
        meters.append(meter)
        return meter

    yield make
    for meter in meters:
        meter.close()


def values(readings: tuple[Reading, ...]) -> dict[str, float]:
    return {r.name: r.value for r in readings}


def test_pulse_meter_500_hz_with_bounce_loses_no_pulse_over_100000(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=1.0)
    source = PulseSource(factory, PIN, clock)
    source.emit(100_000, 500.0, bounce_count=2, bounce_s=50e-6)
    got = values(meter.read())
    assert source.pulses_emitted == 100_000
    assert got["pulse_count"] == 100_000
    assert got["volume_total_l"] == 100_000.0
    assert meter.total_l == 100_000.0


def test_pulse_meter_without_debounce_counts_the_bounces(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=1.0, debounce_s=0.0)
    PulseSource(factory, PIN, clock).emit(100, 500.0, bounce_count=2, bounce_s=50e-6)
    # Each pulse: 3 closings on the make edge and 2 more on the break edge.
    assert meter.pulse_count == 500


def test_pulse_meter_yf_s201_turbine_450_pulses_per_litre(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(pulses_per_litre=450.0, active_low=False, pull_up=False)
    source = PulseSource(factory, PIN, clock, active_low=False)
    meter.read()
    for _ in range(6):
        source.run_flow(600.0, 10.0, 1 / 450)
        got = values(meter.read())
        assert got["flow_lph"] == pytest.approx(600.0, rel=0.01)
    assert got["pulse_count"] == source.pulses_emitted == 4500
    assert got["volume_total_l"] == 10.0


def test_pulse_meter_turbine_flow_falls_to_zero_when_water_stops(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(pulses_per_litre=450.0)
    source = PulseSource(factory, PIN, clock)
    source.run_flow(600.0, 10.0, 1 / 450)
    meter.read()
    source.run_flow(0.0, 60.0, 1 / 450)
    after_minute = values(meter.read())["flow_lph"]
    # No pulse for 60 s bounds the flow to one pulse (1/450 L) per 60 s.
    assert after_minute == pytest.approx(3600.0 / 450 / 60, rel=0.01)
    source.run_flow(0.0, 3600.0, 1 / 450)
    assert values(meter.read())["flow_lph"] < after_minute / 50


def test_pulse_meter_reed_1_litre_per_pulse_at_2_lph_gives_sane_flow(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=1.0)
    source = PulseSource(factory, PIN, clock)
    flows = []
    for _ in range(3 * 60):  # 3 h, one read a minute
        source.run_flow(2.0, 60.0, 1.0)
        flows.append(values(meter.read())["flow_lph"])
    assert source.pulses_emitted == 6
    assert meter.pulse_count == 6
    after_second_pulse = flows[60:]
    assert min(after_second_pulse) == pytest.approx(2.0, rel=0.01)
    assert max(after_second_pulse) == pytest.approx(2.0, rel=0.01)


def test_pulse_meter_reed_flow_decays_to_zero_without_pulses(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=1.0)
    source = PulseSource(factory, PIN, clock)
    source.run_flow(2.0, 3 * 3600.0, 1.0)
    assert values(meter.read())["flow_lph"] == pytest.approx(2.0, rel=0.01)
    source.run_flow(0.0, 3600.0, 1.0)
    one_hour = values(meter.read())["flow_lph"]
    source.run_flow(0.0, 9 * 3600.0, 1.0)
    ten_hours = values(meter.read())["flow_lph"]
    assert 0.0 < ten_hours < one_hour < 2.0
    assert ten_hours < 0.2


def test_pulse_meter_total_is_settable_and_restored_from_initial_total(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=10.0, initial_total_l=12_340.0)
    source = PulseSource(factory, PIN, clock)
    source.emit(3, 1.0)
    assert meter.total_l == 12_370.0
    meter.set_total_l(50_000.0)
    source.emit(2, 1.0)
    got = values(meter.read())
    assert got["volume_total_l"] == 50_020.0
    assert got["pulse_count"] == 5


def test_pulse_meter_concurrent_reader_loses_nothing(
    factory: SimPinFactory, clock: SimClock, make_meter: Callable[..., PulseMeter]
) -> None:
    meter = make_meter(litres_per_pulse=1.0)
    source = PulseSource(factory, PIN, clock)
    stop = threading.Event()
    counts: list[float] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                counts.append(values(meter.read())["pulse_count"])
                stop.wait(0.0005)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        source.emit(10_000, 500.0, bounce_count=1, bounce_s=100e-6)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert errors == []
    assert any(0 < count < 10_000 for count in counts), "reader never ran while pulses arrived"
    assert counts == sorted(counts)
    assert meter.pulse_count == 10_000


def test_pulse_meter_validates_arguments(factory: SimPinFactory) -> None:
    for kwargs in (
        {},
        {"litres_per_pulse": 1.0, "pulses_per_litre": 1.0},
        {"litres_per_pulse": 1.0, "debounce_s": -1.0},
    ):
        with pytest.raises(ValueError):
            PulseMeter(factory, PIN, **kwargs)  # type: ignore[arg-type]


def test_pulse_meter_releases_its_pin_on_close(factory: SimPinFactory, clock: SimClock) -> None:
    meter = PulseMeter(factory, PIN, litres_per_pulse=1.0)
    meter.close()
    again = PulseMeter(factory, PIN, litres_per_pulse=1.0)
    try:
        PulseSource(factory, PIN, clock).emit(3, 10.0)
        assert again.pulse_count == 3
        assert meter.pulse_count == 0
    finally:
        again.close()
