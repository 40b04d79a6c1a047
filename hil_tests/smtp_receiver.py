"""A real SMTP server on loopback for the notifier's tests (aiosmtpd in its own thread): STARTTLS or implicit TLS
with a test certificate, optional AUTH (only after TLS), every message kept, and failures on demand: a
scripted answer per DATA (`451`, `554`, ...) or a hang longer than the client's timeout."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
#: A scripted action: an SMTP reply code to answer DATA with, "hang" (no answer for hang_s), or "ok".
Action = int | str


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    at: float
    user: str | None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        r = self.receiver
        with r.lock:
            action = r.script.popleft() if r.script else "ok"
            r.attempts.append(time.time())
        if action == "hang":
            await asyncio.sleep(r.hang_s)
            return "451 4.3.0 too late"
        if isinstance(action, int):
            return f"{action} scripted failure"
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        user = session.auth_data if session.authenticated else None
        with r.lock:
            r.messages.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), mail,  # type: ignore[arg-type]
                                           time.time(), None if user is None else str(user)))
        return "250 OK"


class SmtpReceiver:
    """The server; `script` holds actions for the next DATA commands, then every message is accepted."""

    def __init__(
        self,
        *,
        cert: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
        hang_s: float = 5.0,
    ) -> None:
        self.port = _free_port()
        self.lock = threading.Lock()
        self.script: deque[Action] = deque()
        self.attempts: list[float] = []
        self.messages: list[ReceivedMail] = []
        self.hang_s = hang_s
        self.users = dict(users or {})
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        params: dict[str, Any] = {}
        if context is not None and not implicit_tls:
            params.update(tls_context=context, require_starttls=True)
        if self.users:
            params.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self.controller = Controller(
            _Handler(self), hostname=HOST, port=self.port, ssl_context=context if implicit_tls else None,
            server_hostname="localhost" if implicit_tls else None, ready_timeout=10.0, **params,
        )

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def fail_next(self, *actions: Action) -> None:
        """Answer the next DATA commands with these actions, in order."""
        with self.lock:
            self.script.extend(actions)

    def start(self) -> SmtpReceiver:
        """Listen (returns once the server answers)."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening; a hanging answer is cancelled."""
        self.controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
