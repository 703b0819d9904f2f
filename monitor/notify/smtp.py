"""SmtpNotifier: e-mail through the configured server with aiosmtplib; errors classified."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from monitor.config import SmtpServer
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify.mime import build_email

log = logging.getLogger(__name__)


class SmtpNotifier:
    """Sends each message as one e-mail to `to` (password never logged nor in repr).

    `security` is "starttls" (upgrade or fail, never fall back to plain text), "tls" (TLS from
    the first byte) or "none". Certificates are checked against the system's trust store, or
    against `tls_context` when one is given (a private CA). `server.timeout` bounds the connect,
    the TLS handshake and every SMTP reply, so a server that stops answering fails retryably.
    """

    def __init__(self, server: SmtpServer, to: list[str], *,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.to = list(to)
        self.tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpNotifier({self._where()}, to={self.to!r})"

    async def send(self, message: OutboundMessage) -> None:
        """Send; 4xx and network failures are retryable, 5xx refusals are not."""
        email = build_email(message, sender=self.server.sender, to=self.to)
        with _translate_errors(self._where()):
            refused, _ = await self._deliver(email)
        for recipient, response in refused.items():
            log.warning("smtp %s refused %s: %s %s", self._where(), recipient,
                        response.code, response.message)
        deferred = [recipient for recipient, response in refused.items()
                    if 400 <= response.code < 500]
        if deferred:  # sent again whole: the others drop the copy by its Message-ID
            raise DeliveryError(f"smtp {self._where()}: {len(deferred)} recipient(s) deferred "
                                "(4xx), to be tried again", retryable=True)

    async def _deliver(self, email: EmailMessage) -> tuple[dict[str, SMTPResponse], str]:
        server = self.server
        password = server.password.get_secret_value() if server.password else None
        return await aiosmtplib.send(
            email, sender=server.sender, recipients=self.to,
            hostname=server.host, port=server.port,
            username=server.username, password=password if server.username else None,
            use_tls=server.security == "tls", start_tls=server.security == "starttls",
            tls_context=self.tls_context, timeout=server.timeout.total_seconds(),
        )

    def _where(self) -> str:
        return f"{self.server.host}:{self.server.port}"


@contextmanager
def _translate_errors(where: str) -> Iterator[None]:
    """aiosmtplib and socket errors -> DeliveryError, the cause kept."""
    try:
        yield
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise _refused(where, error) from error
    except aiosmtplib.SMTPResponseException as error:
        reason = f"smtp {where}: {error.code} {error.message}"
        raise DeliveryError(reason, retryable=_transient(error.code)) from error
    except aiosmtplib.SMTPNotSupported as error:
        raise DeliveryError(f"smtp {where}: {error.message}", retryable=False) from error
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        reason = f"smtp {where}: {type(error).__name__}: {error}"
        raise DeliveryError(reason, retryable=True) from error
    except ValueError as error:  # aiosmtplib: an address unfit for an SMTP command line
        raise DeliveryError(f"smtp {where}: {error}", retryable=False) from error


def _refused(where: str, error: aiosmtplib.SMTPRecipientsRefused) -> DeliveryError:
    details = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
    retryable = all(_transient(r.code) for r in error.recipients)
    return DeliveryError(f"smtp {where} refused all recipients: {details}", retryable=retryable)


def _transient(code: int) -> bool:
    return 400 <= code < 500
