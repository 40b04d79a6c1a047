"""`/api/v1/public/{commune}`: the commune's public page as JSON, no login (the same PublicView the page shows).

Its models are the allow-list of what the public may read: a field the view has and a model here does not is
never sent (tests/test_web_public.py lists every key path).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from fleet.store.db import Database
from fleet.web.api_models import ErrorOut
from fleet.web.auth import PUBLIC
from fleet.web.deps import WebContext, get_db, web_context
from fleet.web.views.public import cached_public_view, public_commune

router = APIRouter(tags=["public"])


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NightGroupOut(_Out):
    """Circuits sharing tonight's cut-off (local times "HH:MM")."""

    circuits: int
    dusk_from: str | None = Field(description="earliest dusk (sunset + offset) among them")
    dusk_to: str | None = Field(description="latest dusk among them")
    cutoff_from: str | None = Field(description="lights off (None: lit all night)")
    cutoff_to: str | None = Field(description="lights on again (None: off until dawn)")
    dawn_from: str | None
    dawn_to: str | None
    all_night: bool


class ExceptionNightOut(_Out):
    """A dated night that differs from the week for some circuits."""

    night: date = Field(description="the night's evening")
    cutoff_from: str | None
    cutoff_to: str | None
    circuits: int
    name: str | None = Field(description="its name when it falls on a fixed holiday")
    all_night: bool


class LightingOut(_Out):
    """Tonight's street-lighting schedule."""

    night: date
    circuits: int
    groups: list[NightGroupOut]
    exceptions_tonight: list[ExceptionNightOut]
    coming: list[ExceptionNightOut] = Field(description="exceptions of the next 60 nights")
    lux_sensor: bool


class SpanOut(_Out):
    """Lighting saved over local days first..last against dusk to dawn and against the same days a year before."""

    first: date
    last: date
    lit_h: float | None
    saved_h: float | None
    saved_kwh: float | None
    saved_eur: float | None
    saved_co2_kg: float | None
    previous_first: date
    previous_last: date
    previous_lit_h: float | None
    fewer_h_than_previous: float | None
    more_saved_kwh: float | None
    more_saved_eur: float | None
    more_saved_co2_kg: float | None


class LeaksOut(_Out):
    """Leaks found this year."""

    first: date
    last: date
    leaks: int
    water_lost_l: float
    water_caught_l: float = Field(description="water a quarterly meter reading would have let run on")


class DayTemperatureOut(_Out):
    """One day over the commune's heated public buildings."""

    day: date
    lowest_c: float | None
    mean_c: float | None
    zones: int


class PublicOut(_Out):
    """A commune's public figures, up to yesterday."""

    commune: str
    title: str
    paragraphs: list[str]
    data_to: date
    tariff_eur_per_kwh: float
    co2_kg_per_kwh: float
    lighting: LightingOut
    month: SpanOut | None
    year: SpanOut | None
    leaks: LeaksOut | None
    temperatures: list[DayTemperatureOut]


@router.get("/api/v1/public/{commune}", response_model=PublicOut, responses={404: {"model": ErrorOut}})
def public_api(
    commune: str, _public: Annotated[None, Depends(PUBLIC)], db: Annotated[Database, Depends(get_db)],
    ctx: Annotated[WebContext, Depends(web_context)],
) -> PublicOut:
    """The commune's public figures (no login); 404 when there is no such commune or its page is off."""
    found = public_commune(db, commune)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no public page for commune {commune[:80]!r}")
    return PublicOut.model_validate(cached_public_view(ctx.public_views, db, found, ctx.settings.rollups.zone, ctx.now()))
