"""Putting messages on the wire: e-mail through smtplib (STARTTLS or TLS, the server's certificate verified;
no login without TLS) and webhooks as a JSON POST through urllib (https verified; no redirects), every
network call bounded by the settings' timeout. Failures become `DeliveryError` with a one-line reason that
names no secret."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import urlsplit

from fleet.errors import FleetError
from fleet.notify.settings import SmtpSettings, WebhookSettings, tls_client_context

#: The header carrying the webhook body's HMAC-SHA256 under the shared secret: `sha256=<hex>`.
SIGNATURE_HEADER = "X-Hameau-Signature"
#: The header carrying the outbox row's id (the same on every retry: receivers can drop duplicates).
MESSAGE_ID_HEADER = "X-Hameau-Message-Id"


class DeliveryError(FleetError):
    """A message could not be delivered; `connection` says the target itself is unusable right now."""

    def __init__(self, reason: str, *, connection: bool) -> None:
        super().__init__(reason)
        self.connection = connection


def redact_url(url: str) -> str:
    """A webhook URL as logs show it: scheme, host and port only (paths often hold tokens)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{'' if parts.port is None else f':{parts.port}'}/..."
    except ValueError:
        return "(bad URL)"


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def network_reason(exc: BaseException, timeout_s: float) -> str:
    """Why a network call failed, in one line (timeout, untrusted certificate, refused...)."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class MailSession:
    """One SMTP connection, opened on the first message and reused; close() says QUIT."""

    def __init__(self, settings: SmtpSettings, timeout_s: float) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = tls_client_context(s.ca_file)
        conn: smtplib.SMTP
        if s.security == "tls":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout_s, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=self.timeout_s)
        try:
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError("the SMTP server does not offer STARTTLS", connection=True)
                conn.starttls(context=context)
                conn.ehlo()
            if s.username is not None:
                conn.login(s.username, s.password)
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, message_id: str, recipient: str, subject: str, text: str) -> None:
        """Deliver one mail to one recipient; DeliveryError says why not."""
        try:
            if self._conn is None:
                self._conn = self._open()
            mail = EmailMessage()
            mail["From"] = self.settings.sender
            mail["To"] = recipient
            mail["Subject"] = subject
            mail["Date"] = formatdate(localtime=False)
            mail["Message-ID"] = f"<{message_id}@hameau-fleet>"
            mail.set_content(text)
            self._conn.send_message(mail, from_addr=parseaddr(self.settings.sender)[1],
                                    to_addrs=[parseaddr(recipient)[1]])
        except DeliveryError:
            self.close()
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()), (0, b""))
            raise DeliveryError(f"SMTP recipient refused: {code} {_text(answer)}", connection=False) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", connection=False) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"SMTP {self.settings.host}:{self.settings.port}: "
                                f"{network_reason(exc, self.timeout_s)}", connection=True) from None

    def close(self) -> None:
        """QUIT and close (errors ignored: the connection may be dead already)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def _text(answer: Any) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return " ".join(text.split())[:200]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: the body must go where it was configured to, nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_webhook(settings: WebhookSettings, url: str, message_id: str, body: str, timeout_s: float) -> int:
    """POST the JSON `body` to `url`, signed when there is a secret; the HTTP status (2xx), else DeliveryError."""
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "hameau-fleet", MESSAGE_ID_HEADER: message_id}
    if settings.secret is not None:
        headers[SIGNATURE_HEADER] = signature(settings.secret, data)
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    opener = urllib.request.build_opener(
        _NoRedirect(), urllib.request.HTTPSHandler(context=tls_client_context(settings.ca_file)))
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryError(f"webhook {redact_url(url)}: HTTP {exc.code}", connection=exc.code >= 500) from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, BaseException) else OSError(0, str(exc.reason))
        raise DeliveryError(f"webhook {redact_url(url)}: {network_reason(reason, timeout_s)}",
                            connection=True) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DeliveryError(f"webhook {redact_url(url)}: {network_reason(exc, timeout_s)}",
                            connection=True) from None
