"""Storage faults through the real agent in simulated worlds: the village stays safe whatever the database does.

Each world declares its storage faults ([[storage_faults]]: a full disk, a read-only card, another program
holding the write lock, a file overwritten, cut short or removed) at set times, and the simulation does them
by real means (SQLite's own page cap and query_only on the agent's connections, a second connection holding
BEGIN EXCLUSIVE, the file replaced, truncated or unlinked). Bounds come from the box config written here
(commit_interval_s, the store_retry_* and buffer_* keys) and the world's physics (one sample a minute).
"""

from __future__ import annotations

import errno
import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from simbox import INLET, BoxRun, box_run, local

from edge.cli import main
from edge.storage.keeping import runtime_status_read
from edge.storage.store import Store
from edge.technician.reports import set_relay, status_report

#: The example inlet box's figures these tests rely on (checked in _inlet).
SAMPLE = timedelta(minutes=1)  # every sensor's interval_s
METER_READINGS = 3  # volume_total_l, flow_lph, pulse_count
COMMIT = timedelta(seconds=120)  # commit_interval_s
RETRY_MIN_S = 10.0
RETRY_MAX_S = 300.0
FROST_C = 4.0  # the cabinet's frost_c
STEP = timedelta(minutes=1)  # the simulation's step: the agent ticks once per step


def _inlet(text: str, extra: str = "") -> str:
    """The example inlet box with its night-flow rule kept out (60 warm-up nights) and explicit store keys."""
    for fact in ("interval_s = 60", "commit_interval_s = 120", "frost_c = 4.0", "continuous_flow = false\n"):
        assert fact in text, fact
    text = text.replace("continuous_flow = false\n", "continuous_flow = false\nwarmup_nights = 60\nbaseline_nights = 60\n")
    keys = f"store_retry_min_s = {RETRY_MIN_S}\nstore_retry_max_s = {RETRY_MAX_S}\n{extra}"
    return text.replace("[agent]\n", f"[agent]\n{keys}")


def _world(start: str, duration: str, extra: str) -> str:
    """The water tower in a cold snap: the cabinet needs its heater, the village draws water day and night."""
    return f"""
[site]
start = "{start}"
duration = "{duration}"
seed = 31

[outdoor]
annual_mean_c = 2.0
day_to_day_c = 0.5

[[outdoor.cold_snaps]]
start = "{start}"
duration = "{duration}"
temperature_c = -8.0

[[zones]]
id = "cabinet"
thermometers = ["cabinet-temp"]
heater = "cabinet-heater"
loss_w_per_k = 15.0
capacity_kj_per_k = 1500.0
initial_c = 6.5

[water]
valve = "inlet-valve"
valve_closed_when = "energised"

[[water.meters]]
sensor = "inlet-meter"
profile = "village"
night_lph = 400.0
day_lph = 4500.0
noise_pct = 10.0
{extra}
"""


def _spell(kind: str, start: str, end: str) -> str:
    return f'\n[[storage_faults]]\nkind = "{kind}"\nstart = "{start}"\nend = "{end}"\n'


def _instant(kind: str, start: str) -> str:
    return f'\n[[storage_faults]]\nkind = "{kind}"\nstart = "{start}"\n'


def _burst(start: str) -> str:
    return f'\n[[water.bursts]]\nmeter = "inlet-meter"\nstart = "{start}"\nduration = "8h"\nrate_lph = 10000.0\n'


def _cut(start: str, duration: str) -> str:
    return f'\n[[power_cuts]]\nstart = "{start}"\nduration = "{duration}"\n'


def _store_events(run: BoxRun, kind: str) -> list:
    return [e for e in run.events(kind=kind, source="store")]


def _committed(run: BoxRun, sql: str, *args: object) -> list[tuple]:
    """What another program reading the database file sees now."""
    with Store(run.config.agent.db_path, monotonic=run.sim.clock.monotonic) as technician:
        return technician.conn.execute(sql, args).fetchall()


def _epoch(at: datetime) -> float:
    return at.timestamp()


def _resumed_by(end: datetime) -> datetime:
    """The latest a store can resume after its fault ends: the longest backoff, then the next commit and step."""
    return end + timedelta(seconds=RETRY_MAX_S) + COMMIT + STEP


def test_agent_storage_disk_full_keeps_a_burst_valve_shut_through_a_power_cut(tmp_path: Path) -> None:
    # The village: the disk fills, a main bursts while it is full, the power goes and comes back while
    # it is still full. The valve closes on the burst, closes again at once on the restart (the alarm lives in
    # the safety copy), the cabinet keeps its heat, and once the disk has room the database gets it all.
    world = _world("2026-01-12T08:00", "1d", _spell("disk_full", "2026-01-12T13:00", "2026-01-12T20:00")
                   + _burst("2026-01-12T14:00") + _cut("2026-01-12T16:00", "10m"))
    with box_run(tmp_path, world, box=INLET, edit=_inlet) as run:
        run.run_until(local("2026-01-12T15:00"))
        agent = run.sim.agent
        assert agent is not None
        assert run.sim.hardware.parts.relay_energised("inlet-valve"), "the burst did not shut the valve"
        fault = agent.store.health()["fault"]
        assert fault is not None and (fault["class"], fault["cause"]) == ("full", "database or disk is full")
        restarted = local("2026-01-12T16:10")  # the power comes back: the box boots and decides at once
        run.run_until(restarted + STEP)
        assert run.sim.agent is not None and run.sim.agent is not agent, "the box did not restart after the cut"
        assert run.sim.hardware.parts.relay_energised("inlet-valve"), "the valve was not shut again at once"
        [first] = [d for d in run.events(kind="decision", source="leak-inlet") if d.at >= restarted]
        assert first.at == restarted and first.data["on"] is True, first
        run.run_until(local("2026-01-12T21:00"))
        faults, cleared = _store_events(run, "fault"), _store_events(run, "fault_cleared")
        valve, heater = run.traces["inlet-valve"], run.traces["cabinet-heater"]
        coldest = min(run.sim.world.zone_temperature_c("cabinet"), 99.0)
        end = local("2026-01-12T20:00")
        alarms = _committed(run, "SELECT kind, evidence FROM alarms WHERE acked_at IS NULL")
        kept = _committed(run, "SELECT count(*) FROM readings WHERE sensor = 'inlet-meter' AND name = "
                          "'volume_total_l' AND ts >= ? AND ts < ?", _epoch(restarted), _epoch(end))
    # The valve stayed shut from the burst to the end, but for the power cut (a de-energised valve is open).
    closed = [t for t, on in valve.switches() if on]
    assert closed and closed[0] <= local("2026-01-12T14:10") + 2 * SAMPLE
    assert [t for t, on in valve.switches() if t > restarted and not on] == [], "the valve opened after the restart"
    assert any(e.data["cause"] == "database or disk is full" and e.at >= restarted for e in faults)
    assert all("cannot rollback" not in e.reason for e in faults)
    resumed = [e for e in cleared if "resumed" in e.reason]
    assert resumed and end <= resumed[0].at <= _resumed_by(end), [e.at for e in resumed]
    assert [k for k, _ in alarms] == ["burst"] and json.loads(alarms[0][1]), "the burst alarm lost its evidence"
    # Everything sampled between the restart and the disk's recovery waited in memory and was written.
    assert kept == [((end - restarted) // SAMPLE,)]
    assert heater.switches(local("2026-01-12T13:00"), end), "the cabinet heater was not driven during the fault"
    assert coldest > FROST_C


def test_agent_storage_read_only_card_backs_off_bounds_its_buffer_and_shows_in_status(tmp_path: Path) -> None:
    bound = 300  # buffer_max_readings: five hours of the meter's readings would not fit
    start, end = local("2026-01-12T10:00"), local("2026-01-12T15:00")
    world = _world("2026-01-12T08:00", "1d", _spell("read_only", "2026-01-12T10:00", "2026-01-12T15:00"))
    edit = lambda text: _inlet(text, f"buffer_max_readings = {bound}\n")  # noqa: E731
    with box_run(tmp_path, world, box=INLET, edit=edit) as run:
        run.run_until(start + 2 * COMMIT)
        with Store(run.config.agent.db_path, monotonic=run.sim.clock.monotonic) as technician:
            report = status_report(technician, run.config, run.sim.now,
                                   live=json.loads(run.sim.agent.store.status_path.read_text()))
        run.run_until(end - STEP)
        health = run.sim.agent.store.health()
        run.run_until(local("2026-01-12T16:00"))
        after = run.sim.agent.store.health()
        samples = (run.sim.now - local("2026-01-12T08:00")) // SAMPLE + 1
        stored = _committed(run, "SELECT count(*) FROM readings")[0][0]
        in_fault = _committed(run, "SELECT min(ts), count(*) FROM readings WHERE ts >= ? AND ts < ?",
                              _epoch(start + COMMIT), _epoch(end))
        cleared = _store_events(run, "fault_cleared")
    # The technician sees a running box without its database, and why.
    assert report["agent"]["running"] is True
    store = report["database"]["store"]
    assert store["fault"]["cause"] == "attempt to write a readonly database" and store["fault"]["class"] == "unavailable"
    # Backoff: retries at RETRY_MIN_S, then twice as long each time up to RETRY_MAX_S; each is tried at the
    # first commit after it is due, so at most COMMIT + STEP late.
    span_s = (end - STEP - start).total_seconds()
    delays, due = [], 0.0
    while True:
        delay = min(RETRY_MIN_S * 2 ** len(delays), RETRY_MAX_S)
        if due + delay > span_s:
            break
        delays.append(delay)
        due += delay
    late = (COMMIT + STEP).total_seconds()
    fewest = max(n for n in range(len(delays) + 1) if sum(delays[:n]) + n * late <= span_s - late)
    assert fewest <= health["fault"]["attempts"] <= len(delays), (fewest, health["fault"]["attempts"], len(delays))
    # The buffer held its bound; what it dropped was counted, oldest first; nothing else was lost.
    assert health["buffered"]["readings"] == bound
    per_sample = METER_READINGS + 1  # the meter and the cabinet thermometer
    assert stored + after["buffered"]["readings"] + after["dropped"]["readings"] == samples * per_sample
    assert after["dropped"]["readings"] > 0 and in_fault[0][1] < bound
    assert in_fault[0][0] > _epoch(start + COMMIT), "the oldest readings of the fault were kept, not dropped"
    assert [e for e in cleared if "resumed" in e.reason][0].at <= _resumed_by(end)


def _broken_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if ".broken-" in p.name and not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "lost"])
@pytest.mark.parametrize("while_off", [False, True], ids=["running", "while-off"])
def test_agent_storage_lost_database_is_set_aside_and_the_village_state_restored(
    tmp_path: Path, kind: str, while_off: bool
) -> None:
    # A night burst shut the valve (alarm latched), a technician forced the cabinet heater on until 08:00, the
    # meter counted the village's water; then the file is garbled, cut short or removed at 06:05 (while the
    # box runs, or during a power cut from 06:00 to 06:10). The broken file is kept aside, a fresh one started,
    # and the alarm with its evidence, the override with its expiry and the meter total come back into it.
    instant = local("2026-01-12T06:05")
    extra = _burst("2026-01-12T04:00") + _instant(kind, "2026-01-12T06:05")
    if while_off:
        extra += _cut("2026-01-12T06:00", "10m")
    world = _world("2026-01-12T03:00", "1d", extra)  # the upkeep at 03:30 folds the log back into the file
    with box_run(tmp_path, world, box=INLET, edit=_inlet) as run:
        run.run_until(local("2026-01-12T05:00"))
        until = local("2026-01-12T08:00")
        with Store(run.config.agent.db_path, monotonic=run.sim.clock.monotonic) as technician:
            forced = set_relay(technician, run.config, "cabinet-heater", "on", run.sim.now, duration=until - run.sim.now)
            [before] = technician.latched_alarms()
        assert forced.accepted, forced.message
        run.run_until(local("2026-01-12T05:59"))
        total_before = run.sim.agent.store.load_state("meter:inlet-meter")["total_l"]
        back = instant + timedelta(minutes=5) if while_off else instant
        run.run_until(back + COMMIT + STEP)  # the next commit finds the file broken
        assert run.sim.hardware.parts.relay_energised("inlet-valve"), "the valve opened"
        assert run.sim.hardware.parts.relay_energised("cabinet-heater"), "the override was lost"
        faults = [e for e in _store_events(run, "fault") if e.data["class"] == "corrupt"]
        with Store(run.config.agent.db_path, monotonic=run.sim.clock.monotonic) as technician:
            [after] = technician.latched_alarms()
            override = technician.overrides()["cabinet-heater"]
            total_after = technician.load_state("meter:inlet-meter")["total_l"]
        health = run.sim.agent.store.health()
        aside = _broken_files(run.config.agent.db_path.parent)
        sizes = [path.stat().st_size for path in aside]
    assert len(faults) == 1 and instant <= faults[0].at <= back + COMMIT + STEP, faults
    assert (after.key, after.kind, after.raised_at, after.evidence) == (before.key, before.kind, before.raised_at,
                                                                        before.evidence)
    assert (override.on, override.until) == (True, until)
    # The meter total came back from memory (running) or the safety copy (off), and only grew since.
    assert total_after >= total_before
    if kind == "lost":
        assert aside == [] and health["moved_aside"] == []
    else:
        assert [str(p) for p in aside] == health["moved_aside"] == [faults[0].data["moved_to"]]
        assert sizes[0] > 0, "the broken file was not kept for inspection"


def test_agent_storage_held_lock_is_waited_out_never_set_aside(tmp_path: Path) -> None:
    start, end = local("2026-01-12T09:00"), local("2026-01-12T09:30")
    world = _world("2026-01-12T08:00", "1d", _spell("locked", "2026-01-12T09:00", "2026-01-12T09:30"))
    with box_run(tmp_path, world, box=INLET, edit=_inlet) as run:
        run.run_until(local("2026-01-12T10:00"))
        faults, cleared = _store_events(run, "fault"), _store_events(run, "fault_cleared")
        rows = _committed(run, "SELECT count(*) FROM readings WHERE sensor = 'cabinet-temp'")
        pending = len([r for r in run.sim.agent.store.buffer.readings if r[1] == "cabinet-temp"])
        samples = (run.sim.now - local("2026-01-12T08:00")) // SAMPLE + 1
        aside = _broken_files(run.config.agent.db_path.parent)
    assert faults and {(e.data["class"], e.data["cause"]) for e in faults} == {("busy", "database is locked")}
    assert start <= faults[0].at <= start + COMMIT + STEP
    assert aside == [], "a lock is no reason to set a database aside"
    assert [e for e in cleared if "resumed" in e.reason][0].at <= _resumed_by(end)
    assert rows[0][0] + pending == samples, "readings taken while the lock was held were lost"


def test_agent_storage_disk_budget_is_never_exceeded_and_what_is_thinned_is_counted(tmp_path: Path) -> None:
    # The meter and thermometer write about 0.6 MB a day: a 1 MB budget holds a day and a half, so within
    # three days the oldest readings must be folded into hourly aggregates to make room.
    budget_mb = 1.0
    world = _world("2026-01-12T08:00", "3d", _burst("2026-01-12T14:00"))
    edit = lambda text: _inlet(text, f"db_budget_mb = {budget_mb}\nkeep_readings_days = 30\n")  # noqa: E731
    largest = 0
    with box_run(tmp_path, world, box=INLET, edit=edit) as run:
        while run.sim.now < local("2026-01-15T08:00"):
            run.run_until(run.sim.now + timedelta(minutes=30))
            largest = max(largest, run.sim.agent.store.db.size_bytes())
        thinned = run.sim.agent.store.health()["thinned"]
        jobs = run.events(kind="job", source="store")
        kept = _committed(run, "SELECT count(*) FROM alarms"), _committed(run, "SELECT count(*) FROM events "
                                                                          "WHERE kind = 'agent'")
        oldest = _committed(run, "SELECT min(ts) FROM readings")[0][0]
        hourly = _committed(run, "SELECT count(*), sum(count) FROM readings_hourly")[0]
    assert largest <= budget_mb * 1e6, f"{largest} B on disk for a budget of {budget_mb} MB"
    assert thinned.get("readings folded", 0) > 0, thinned
    assert hourly[0] > 0 and hourly[1] >= thinned["readings folded"]
    assert kept == ([(1,)], [(1,)]), "alarms and agent events are never thinned"
    assert oldest > _epoch(local("2026-01-12T08:00")), "the oldest raw readings outlived the budget"
    assert any(e.data.get("used_bytes") for e in jobs)


# -- the same faults on a real filesystem: a small tmpfs filled up, then remounted read-only ---------------


@pytest.fixture
def card(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs for the database, as small as a card with no room left; unmounted after."""
    mount = tmp_path / "card"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(directory: Path) -> Path:
    """Fill a filesystem to the last byte with one file."""
    filler = directory / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    for size in (4096, 512, 1):  # and the last partial block
        try:
            with filler.open("ab") as f:
                while True:
                    f.write(b"\0" * size)
                    f.flush()
        except OSError:
            pass
    return filler


def test_agent_storage_real_full_disk_buffers_fails_the_safety_copy_softly_and_resumes(
    tmp_path: Path, card: Path
) -> None:
    world = _world("2026-01-12T08:00", "1d", _burst("2026-01-12T09:00"))
    with box_run(tmp_path, world, box=INLET, edit=_inlet, data_dir=card) as run:
        run.run_until(local("2026-01-12T10:00"))
        assert run.sim.hardware.parts.relay_energised("inlet-valve")
        filler = _fill(card)
        full_at = run.sim.now
        run.run_until(full_at + timedelta(hours=2))
        store = run.sim.agent.store
        health = store.health()
        assert run.sim.hardware.parts.relay_energised("inlet-valve"), "the valve opened on a full disk"
        filler.unlink()
        freed_at = run.sim.now
        run.run_until(freed_at + timedelta(seconds=RETRY_MAX_S) + 2 * COMMIT)
        faults, cleared = _store_events(run, "fault"), _store_events(run, "fault_cleared")
        rows = _committed(run, "SELECT count(*) FROM readings WHERE sensor = 'cabinet-temp'")[0][0]
        pending = len([r for r in store.buffer.readings if r[1] == "cabinet-temp"])
        samples = (run.sim.now - local("2026-01-12T08:00")) // SAMPLE + 1
    assert health["fault"] is not None and health["fault"]["cause"] == "database or disk is full"
    assert health["safety_copy"]["failures"] > 0 and health["safety_copy"]["error"] == "No space left on device"
    assert any(e.data["cause"] == "database or disk is full" and full_at <= e.at for e in faults)
    assert [e for e in cleared if "resumed" in e.reason][0].at <= _resumed_by(freed_at)
    assert rows + pending == samples, "readings taken while the disk was full were lost"


def test_agent_storage_real_read_only_card_at_boot_decides_from_the_safety_copy(
    tmp_path: Path, card: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = _world("2026-01-12T08:00", "1d", _burst("2026-01-12T09:00") + _cut("2026-01-12T10:00", "10m"))
    with box_run(tmp_path, world, box=INLET, edit=_inlet, data_dir=card) as run:
        run.run_until(local("2026-01-12T10:01"))  # the burst shut the valve; the power went at 10:00
        assert run.sim.agent is None
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(card)], capture_output=True, text=True)
        assert remounted.returncode == 0, remounted.stderr
        try:
            assert main(["check-config", str(tmp_path / "box.toml")]) == 0
            warning = capsys.readouterr().err
            boot = local("2026-01-12T10:10")
            run.run_until(boot + STEP)
            agent = run.sim.agent
            assert agent is not None
            health = agent.store.health()
            assert run.sim.hardware.parts.relay_energised("inlet-valve"), "the valve was not shut at boot"
            live = runtime_status_read(agent.store.status_path)
            run.run_until(boot + timedelta(minutes=30))
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(card)], capture_output=True, check=True)
        writable_at = run.sim.now
        run.run_until(writable_at + timedelta(seconds=RETRY_MAX_S) + 2 * COMMIT)
        cleared = _store_events(run, "fault_cleared")
        [alarm] = _committed(run, "SELECT kind FROM alarms WHERE acked_at IS NULL")
    assert "warning" in warning and "agent.db_path" in warning
    assert health["fault"] is not None and health["fault"]["class"] == "unavailable", health["fault"]
    assert live is not None and live["store"]["fault"]["class"] == "unavailable"
    assert [e for e in cleared if "resumed" in e.reason][0].at <= _resumed_by(writable_at)
    assert alarm == ("burst",)
