"""The fleet's users over the API, for admins: list, add (with a dashboard password), disable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from fleet.registry.groups import add_user, disable_user, get_user, list_users
from fleet.registry.model import RegistryError, User
from fleet.store.db import Database
from fleet.tenants.communes import get_commune
from fleet.web.accounts import Session, check_password, set_password
from fleet.web.auth import ADMIN
from fleet.web.deps import WebContext, get_db, web_context

router = APIRouter()


class UserOut(BaseModel):
    """A fleet user as the API shows it (never their password or its hash)."""

    name: str
    role: str
    email: str | None
    created_at: float
    disabled_at: float | None
    #: The commune the user works for (None: the intercommunal service).
    commune: str | None = None


class NewUser(BaseModel):
    """A user to add, with their first dashboard password."""

    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    email: str | None = Field(default=None, max_length=254)
    password: str = Field(max_length=1024)
    #: The commune (a service admin's choice; a commune's admin adds users to their own commune only).
    commune: str | None = Field(default=None, max_length=63)


def _out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role, email=user.email, created_at=user.created_at,
                   disabled_at=user.disabled_at, commune=user.commune)


@router.get("/api/v1/users", response_model=list[UserOut])
def users(session: Annotated[Session, Depends(ADMIN)], db: Annotated[Database, Depends(get_db)]) -> list[UserOut]:
    """Every user the admin may see (a commune's admin: that commune's), disabled ones included."""
    return [_out(user) for user in list_users(db) if session.scope.sees_commune(user.commune)]


@router.post("/api/v1/users", response_model=UserOut, status_code=201,
             responses={400: {"description": "invalid name, role, e-mail or password"},
                        409: {"description": "the name is taken"}})
def user_add(new: NewUser, session: Annotated[Session, Depends(ADMIN)], db: Annotated[Database, Depends(get_db)],
             ctx: Annotated[WebContext, Depends(web_context)]) -> UserOut:
    """Add a user who can log in with the given password (a commune's admin: to their own commune)."""
    scope = session.scope
    if new.commune is not None and (not scope.sees_commune(new.commune) or get_commune(db, new.commune) is None):
        raise HTTPException(status_code=400, detail=f"no commune {new.commune[:80]!r}")
    commune = new.commune if scope.service else scope.commune
    try:
        check_password(new.password)
        if get_user(db, new.name) is not None:
            raise HTTPException(status_code=409, detail=f"user {new.name!r} already exists")
        add_user(db, new.name, new.role, now=ctx.now(), email=new.email, commune=commune)
        set_password(db, new.name, new.password, now=ctx.now(), settings=ctx.settings.web)
    except RegistryError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    user = get_user(db, new.name)
    assert user is not None  # just added
    return _out(user)


@router.delete("/api/v1/users/{name}", response_model=UserOut,
               responses={404: {"description": "no such user"}, 409: {"description": "already disabled"}})
def user_disable(name: str, session: Annotated[Session, Depends(ADMIN)], db: Annotated[Database, Depends(get_db)],
                 ctx: Annotated[WebContext, Depends(web_context)]) -> UserOut:
    """Disable a user (kept for the record); their sessions end. An admin cannot disable themself."""
    if name == session.user:
        raise HTTPException(status_code=409, detail="you cannot disable yourself: ask another admin")
    user = get_user(db, name)
    if user is None or not session.scope.sees_commune(user.commune):
        raise HTTPException(status_code=404, detail=f"no user {name[:80]!r}")
    if user.disabled_at is not None:
        raise HTTPException(status_code=409, detail=f"user {name!r} is already disabled")
    return _out(disable_user(db, name, now=ctx.now()))
