"""The OpenAPI description of the REST API, for logged-in users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from fleet.web.accounts import Session
from fleet.web.auth import VIEWER

router = APIRouter()


@router.get("/api/v1/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Annotated[Session, Depends(VIEWER)]) -> dict[str, Any]:
    """The OpenAPI 3 document of every /api/v1 route."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
