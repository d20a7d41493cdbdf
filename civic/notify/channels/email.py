"""E-mail over SMTP: STARTTLS (or implicit TLS on port 465) and authentication, as any mail relay wants."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from civic.config import Settings
from civic.notify.channels.base import Message, Permanent, Temporary

_STOP_LINK = re.compile(r"https?://\S+/notify/stop/\S+")


@dataclass
class SmtpChannel:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    sender: str = "civic@localhost"
    sender_name: str = "civic"
    security: str = "starttls"  # starttls | tls | none
    ca_file: str = ""
    timeout: float = 10.0
    name: str = "email"

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpChannel:
        return cls(host=s.smtp_host, port=s.smtp_port, username=s.smtp_username, password=s.smtp_password,
                   sender=s.smtp_sender, sender_name=s.smtp_sender_name, security=s.smtp_security,
                   ca_file=s.smtp_ca_file, timeout=s.notify_timeout_seconds)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender))
        mail["To"] = message.address
        mail["Subject"] = message.subject
        domain = self.sender.rsplit("@", 1)[-1] or "civic"
        # The same Message-ID on a repeated delivery lets mail systems drop the duplicate.
        mail["Message-ID"] = f"<{message.idempotency_key}@{domain}>"
        stop = _STOP_LINK.search(message.body)
        if stop:  # mail programs show their own "unsubscribe" button
            mail["List-Unsubscribe"] = f"<{stop.group(0)}>"
        mail.set_content(message.body)
        return mail

    def send(self, message: Message) -> None:
        mail = self.compose(message)
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise Permanent(f"SMTP refused the address: {codes}") from exc
            raise Temporary(f"SMTP deferred the address: {codes}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise Temporary(f"SMTP login refused ({exc.smtp_code})") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code not in (530, 535, 554):
                raise Permanent(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300]) from exc
            raise Temporary(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300]) from exc
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise Temporary(f"SMTP: {type(exc).__name__}: {exc}") from exc
