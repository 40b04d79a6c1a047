"""Fleet store schema step 5: per-night water, per-day lighting and energy roll-ups, what is left to recompute.

Days and nights are local dates 'YYYY-MM-DD' in the fleet's time zone (fleet/rollups/settings.py); a night
is named by its evening. The roll-ups are recomputed from the stored records (fleet/rollups/job.py), so they
hold the same numbers whatever order and however many times the records came.
"""

from __future__ import annotations

STATEMENTS: tuple[str, ...] = (
    # Readings of a device's lane by time: what a day's recompute and the retention read and delete.
    "CREATE INDEX records_device_lane_ts ON records (device, lane, ts)",
    # Minimum night flow per meter (a pulse meter's sensor id) and night; NULL when a bucket lacked data.
    """CREATE TABLE water_nights (
        device TEXT NOT NULL,
        meter TEXT NOT NULL,
        night TEXT NOT NULL,
        min_flow_lph {real},
        samples {bigint} NOT NULL,
        volume_l {real} NOT NULL,
        PRIMARY KEY (device, meter, night)
    ) {without_rowid}""",
    # Hours lit per lighting circuit (the lighting controller's id) and day, against the astronomical night.
    """CREATE TABLE lighting_days (
        device TEXT NOT NULL,
        circuit TEXT NOT NULL,
        day TEXT NOT NULL,
        lit_s {real} NOT NULL,
        dark_s {real},
        switches {bigint} NOT NULL,
        PRIMARY KEY (device, circuit, day)
    ) {without_rowid}""",
    # Energy per meter (sensor id), register (reading name, e.g. import_energy_kwh) and day.
    """CREATE TABLE energy_days (
        device TEXT NOT NULL,
        meter TEXT NOT NULL,
        register TEXT NOT NULL,
        day TEXT NOT NULL,
        energy_kwh {real} NOT NULL,
        samples {bigint} NOT NULL,
        resets {bigint} NOT NULL,
        PRIMARY KEY (device, meter, register, day)
    ) {without_rowid}""",
    "CREATE INDEX energy_days_by_day ON energy_days (device, day)",
    # Days whose records changed since they were rolled up, since when (the first change); `mark` grows with
    # each change, so a job deletes only the marks it has seen.
    """CREATE TABLE rollup_dirty (
        device TEXT NOT NULL,
        day TEXT NOT NULL,
        mark {bigint} NOT NULL,
        marked_at {real} NOT NULL,
        PRIMARY KEY (device, day)
    ) {without_rowid}""",
    # Days rolled up; since when the retention is removing their raw readings (then the day is never
    # recomputed again), and whether it has removed them all (0 again when a resend brought one back).
    """CREATE TABLE rollup_days (
        device TEXT NOT NULL,
        day TEXT NOT NULL,
        rolled_at {real} NOT NULL,
        raw_retired_at {real},
        raw_done INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (device, day)
    ) {without_rowid}""",
    # Boots with records whose time is not known yet: the monotonic span to mark once their offset comes.
    """CREATE TABLE rollup_pending_boots (
        device TEXT NOT NULL,
        boot TEXT NOT NULL,
        mono_min {real} NOT NULL,
        mono_max {real} NOT NULL,
        PRIMARY KEY (device, boot)
    ) {without_rowid}""",
    # Raw readings the retention deleted, per device, lane and day (seq span and count): not missing data.
    """CREATE TABLE raw_retired (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        day TEXT NOT NULL,
        seq_from {bigint} NOT NULL,
        seq_to {bigint} NOT NULL,
        count {bigint} NOT NULL,
        PRIMARY KEY (device, lane, day)
    ) {without_rowid}""",
)
