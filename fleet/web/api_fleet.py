"""`/api/v1/devices` (boxes and their health) and `/api/v1/alarms` (list, acknowledge)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from fleet.alarms.ack import AlarmError, acknowledge
from fleet.alarms.model import ALARM_COLUMNS, Alarm, alarm_from_row
from fleet.alarms.table import get_alarm
from fleet.registry.devices import get_device, list_devices
from fleet.registry.health import device_health
from fleet.registry.model import Device
from fleet.store.db import Database
from fleet.tenants.scope import Scope
from fleet.web.accounts import Session
from fleet.web.api_models import (
    AckIn,
    AckOut,
    AlarmOut,
    DeviceDetailOut,
    DeviceOut,
    ErrorOut,
)
from fleet.web.auth import TECHNICIAN, VIEWER
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.views.overview import scoped_groups

router = APIRouter(tags=["fleet"])
MAX_ALARMS = 10_000
NOT_FOUND = {404: {"model": ErrorOut}}


def alarm_out(alarm: Alarm) -> AlarmOut:
    """An alarm as the API answers it."""
    return AlarmOut.model_validate(alarm.to_dict())


def _device_out(device: Device, db: Database) -> dict[str, Any]:
    (health,) = device_health(db, [device])
    return {**health.to_json(), "latitude": device.latitude, "longitude": device.longitude}


def registered(db: Database, device: str, scope: Scope) -> Device:
    """The registered device when in `scope`; 404 worded the same when unknown or another commune's."""
    found = get_device(db, device)
    if found is None or not scope.sees_commune(found.commune):
        raise HTTPException(status_code=404, detail=f"no device {device!r}")
    return found


@router.get("/api/v1/devices", response_model=list[DeviceOut])
def devices(session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
            group: Annotated[str | None, Query(description="only this group's boxes")] = None) -> list[DeviceOut]:
    """Every registered box the user may see with its health (revoked ones included, in state `revoked`), by id."""
    if group is not None and not session.scope.sees_group(db, group):
        return []  # another commune's group (or the service's own) is one with no box, as an unknown group
    found = scoped_groups(db, list_devices(db, group=group, commune=session.scope.commune), session.scope)
    places = {d.device: d for d in found}
    return [DeviceOut.model_validate({**h.to_json(), "latitude": places[h.device].latitude,
                                      "longitude": places[h.device].longitude}) for h in device_health(db, found)]


@router.get("/api/v1/devices/{device}", response_model=DeviceDetailOut, responses=NOT_FOUND)
def device(device: str, session: Annotated[Session, Depends(VIEWER)],
           db: Annotated[Database, Depends(get_db)]) -> DeviceDetailOut:
    """One box, its health and its open alarms."""
    (found,) = scoped_groups(db, [registered(db, device, session.scope)], session.scope)
    rows = db.query(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE device = ? AND state = 'open'"
                    " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
                    " last_seen DESC, id", (device,))
    alarms = [alarm_out(alarm_from_row(row)) for row in rows]
    return DeviceDetailOut.model_validate({**_device_out(found, db), "alarms": alarms})


@router.get("/api/v1/alarms", response_model=list[AlarmOut])
def alarms(session: Annotated[Session, Depends(VIEWER)], db: Annotated[Database, Depends(get_db)],
           state: Annotated[Literal["open", "cleared"] | None, Query(description="open or cleared (default both)")]
           = None,
           device: Annotated[str | None, Query(description="one box")] = None,
           limit: Annotated[int, Query(ge=1, le=MAX_ALARMS)] = 500) -> list[AlarmOut]:
    """Alarms of the boxes the user may see: open first, critical first, then the latest first."""
    where: list[str] = []
    params: list[Any] = []
    if not session.scope.service:
        condition, values = session.scope.device_sql("device")
        where.append(condition)
        params.extend(values)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    if device is not None:
        where.append("device = ?")
        params.append(device)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms{clause} ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END,"
        " CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, last_seen DESC, id LIMIT ?",
        (*params, limit),
    )
    return [alarm_out(alarm_from_row(row)) for row in rows]


@router.post("/api/v1/alarms/{id}/ack", response_model=AckOut, responses={
    400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
def ack(id: str, session: Annotated[Session, Depends(TECHNICIAN)], db: Annotated[Database, Depends(get_db)],
        ctx: Annotated[WebContext, Depends(web_context)],
        body: Annotated[AckIn | None, Body()] = None) -> AckOut:
    """Acknowledge an alarm as the logged-in user; a box's own latched alarm is acknowledged on the box too."""
    alarm = get_alarm(db, id)
    if alarm is None or not session.scope.sees_device(db, alarm.device):
        raise HTTPException(status_code=404, detail=f"no alarm {id!r}")
    if alarm.acked_by is not None:
        raise HTTPException(status_code=409, detail=f"alarm {id} was already acknowledged by {alarm.acked_by}")
    try:
        done = acknowledge(db, alarm.id, session.user, note=None if body is None else body.note, now=ctx.now(),
                           settings=ctx.settings.alarms)
    except AlarmError as error:  # acknowledged meanwhile by someone else, or a user who may not
        raise HTTPException(status_code=409 if "already" in str(error) else 400, detail=str(error)) from None
    return AckOut(alarm=alarm_out(done.alarm), command_id=done.command_id)
