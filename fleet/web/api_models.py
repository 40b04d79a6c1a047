"""The JSON shapes of the REST API (pydantic), so that its OpenAPI document describes every answer.

Times are epoch seconds (UTC), as the store keeps them; None when unknown.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorOut(BaseModel):
    """What every refusal answers: one line saying why."""

    detail: str


class DeviceOut(BaseModel):
    """A registered box and its health now."""

    device: str
    site: str
    latitude: float | None
    longitude: float | None
    groups: list[str]
    state: str = Field(description="online, offline, no status, never seen or revoked")
    since: float | None = Field(description="since when the state holds")
    last_seen: float | None = Field(description="the fleet's time of the box's last batch or status")
    last_record_at: float | None
    last_record_ts: float | None
    config_desired: int | None
    config_reported: int | None
    config_state: str | None
    open_alarms: int
    faults: int
    thinned: int
    revoked_at: float | None


class AlarmOut(BaseModel):
    """One alarm, with its evidence and who acknowledged it."""

    id: str
    device: str
    kind: str
    source: str
    severity: Literal["critical", "warning", "info"]
    state: Literal["open", "cleared"]
    first_seen: float
    last_seen: float
    cleared_at: float | None
    cleared_by: str | None
    message: str
    evidence: dict[str, Any]
    count: int
    box_ref: str | None
    acked_by: str | None
    acked_at: float | None
    ack_note: str | None
    ack_command: str | None
    until_ack: bool


class DeviceDetailOut(DeviceOut):
    """A box, its health and its open alarms."""

    alarms: list[AlarmOut]


class AckIn(BaseModel):
    """An acknowledgement: an optional note kept with it."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=4096)


class AckOut(BaseModel):
    """The alarm once acknowledged, and the command that carries the acknowledgement to the box (if any)."""

    alarm: AlarmOut
    command_id: str | None


class CommandIn(BaseModel):
    """A command for a box, as `hameau-fleet commands send ID ACTION ...` takes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    action: Literal["override", "clear", "ack-alarm", "status", "reload-config"]
    relay: str | None = Field(default=None, description="override, clear: the relay's name")
    state: Literal["on", "off"] | None = Field(default=None, description="override: hold the relay on or off")
    for_: str | None = Field(default=None, alias="for", description="override: how long, e.g. 2h or 90m")
    reason: str | None = Field(default=None, description="override: why (kept in the box's audit trail)")
    alarm: str | None = Field(default=None, description="ack-alarm: the box's alarm number or key")
    ttl: str = Field(default="10m", description="expire if not carried out within this (at most 7 days)")


class CommandOut(BaseModel):
    """A command, its state and the box's result."""

    id: str
    device: str
    action: str
    args: dict[str, Any]
    created_by: str
    created_at: float
    expires_at: float
    state: Literal["pending", "sent", "done", "refused", "failed", "expired"]
    result: dict[str, Any] | None
    sent_at: float | None
    done_at: float | None


class ReadingSeriesOut(BaseModel):
    """A series of raw readings: how many have a trusted time in the span, and how many do not (not exported)."""

    sensor: str
    reading: str
    unit: str = Field(description="the unit symbol its name carries ('' for a count or a state)")
    count: int
    first_s: float | None
    last_s: float | None
    untrusted: int


class RollupSeriesOut(BaseModel):
    """A roll-up series: per-night water or per-day lighting or energy of one meter or circuit."""

    model_config = ConfigDict(populate_by_name=True)
    rollup: Literal["water_nights", "lighting_days", "energy_days"]
    sensor: str
    register_: str | None = Field(alias="register", description="energy_days: the meter's register")
    count: int
    first_day: str
    last_day: str


class SeriesOut(BaseModel):
    """The series a box has to export (readings within the span asked, every roll-up)."""

    device: str
    site: str
    from_s: float
    to_s: float
    readings: list[ReadingSeriesOut]
    rollups: list[RollupSeriesOut]
