"""Python's mail and network exceptions, and how to turn one into a Failure."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from .reasons import Reason
from .types import Failure, Persistence, Scope

R = Reason
P, T = Persistence.PERMANENT, Persistence.TRANSIENT
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE


class ExceptionInfo(NamedTuple):
    """Describe what an exception class tells before its text is read."""

    meaning: str
    reason: Reason
    scope: Scope | None
    persistence: Persistence | None


# Keyed by the lower-cased class name; "IMAP4.error" style names keep their
# owner because the bare "error" says nothing.
EXCEPTIONS: dict[str, ExceptionInfo] = {
    "smtpauthenticationerror": ExceptionInfo(
        "the SMTP server refused the login", R.AUTHENTICATION_FAILED, MAILBOX, None
    ),
    "smtprecipientsrefused": ExceptionInfo(
        "the SMTP server refused every recipient", R.UNKNOWN, EMAIL, None
    ),
    "smtpsenderrefused": ExceptionInfo(
        "the SMTP server refused the sender address", R.SENDER_REJECTED, MAILBOX, None
    ),
    "smtpdataerror": ExceptionInfo(
        "the SMTP server refused the message", R.UNKNOWN, EMAIL, None
    ),
    "smtpconnecterror": ExceptionInfo(
        "the SMTP server refused the session at its greeting",
        R.SERVER_BUSY,
        PROFILE,
        None,
    ),
    "smtpheloerror": ExceptionInfo(
        "the SMTP server refused our HELO/EHLO", R.CONFIGURATION, PROFILE, None
    ),
    "smtpnotsupportederror": ExceptionInfo(
        "the SMTP server lacks a command or extension we need",
        R.NOT_SUPPORTED,
        PROFILE,
        P,
    ),
    "smtpserverdisconnected": ExceptionInfo(
        "the SMTP server closed the connection", R.CONNECTION_LOST, PROFILE, T
    ),
    "smtpresponseexception": ExceptionInfo(
        "the SMTP server answered with an error", R.UNKNOWN, None, None
    ),
    "smtpexception": ExceptionInfo("the SMTP session failed", R.UNKNOWN, None, None),
    "gaierror": ExceptionInfo(
        "the host name could not be resolved", R.HOST_UNKNOWN, PROFILE, P
    ),
    "herror": ExceptionInfo(
        "the host address could not be looked up", R.HOST_UNKNOWN, PROFILE, P
    ),
    "timeout": ExceptionInfo(
        "the server did not answer in time", R.TIMEOUT, PROFILE, T
    ),
    "timeouterror": ExceptionInfo(
        "the server did not answer in time", R.TIMEOUT, PROFILE, T
    ),
    "connectionrefusederror": ExceptionInfo(
        "the server's port refused the connection", R.CONNECTION_REFUSED, PROFILE, T
    ),
    "connectionreseterror": ExceptionInfo(
        "the server reset the connection", R.CONNECTION_LOST, PROFILE, T
    ),
    "connectionabortederror": ExceptionInfo(
        "the connection was aborted", R.CONNECTION_LOST, PROFILE, T
    ),
    "brokenpipeerror": ExceptionInfo(
        "the server closed the connection while we wrote", R.CONNECTION_LOST, PROFILE, T
    ),
    "connectionerror": ExceptionInfo(
        "the connection failed", R.CONNECTION_LOST, PROFILE, T
    ),
    "eoferror": ExceptionInfo(
        "the server closed the connection", R.CONNECTION_LOST, PROFILE, T
    ),
    "oserror": ExceptionInfo("a network call failed", R.NETWORK_ERROR, PROFILE, T),
    "socket.error": ExceptionInfo("a network call failed", R.NETWORK_ERROR, PROFILE, T),
    "ioerror": ExceptionInfo("a network call failed", R.NETWORK_ERROR, PROFILE, T),
    "sslcertverificationerror": ExceptionInfo(
        "the server's certificate did not verify", R.CERTIFICATE_INVALID, PROFILE, P
    ),
    "certificateerror": ExceptionInfo(
        "the server's certificate did not verify", R.CERTIFICATE_INVALID, PROFILE, P
    ),
    "sslerror": ExceptionInfo("the TLS negotiation failed", R.TLS_FAILED, PROFILE, P),
    "ssleoferror": ExceptionInfo(
        "the server closed the connection during TLS", R.TLS_FAILED, PROFILE, T
    ),
    "sslzeroreturnerror": ExceptionInfo(
        "the server closed the TLS session", R.CONNECTION_LOST, PROFILE, T
    ),
    "sslsyscallerror": ExceptionInfo(
        "the connection broke during TLS", R.CONNECTION_LOST, PROFILE, T
    ),
    "sslwantreaderror": ExceptionInfo("the TLS session stalled", R.TIMEOUT, PROFILE, T),
    "sslwantwriteerror": ExceptionInfo(
        "the TLS session stalled", R.TIMEOUT, PROFILE, T
    ),
    "imap4.error": ExceptionInfo(
        "the IMAP server refused a command", R.UNKNOWN, None, None
    ),
    "imap4.abort": ExceptionInfo(
        "the IMAP session broke off", R.CONNECTION_LOST, PROFILE, T
    ),
    "imap4.readonly": ExceptionInfo(
        "the IMAP folder became read-only", R.PERMISSION_DENIED, MAILBOX, P
    ),
    "error_proto": ExceptionInfo(
        "the POP3 server answered -ERR", R.UNKNOWN, None, None
    ),
    "unicodeencodeerror": ExceptionInfo(
        "the message could not be encoded", R.PROTOCOL_ERROR, EMAIL, P
    ),
    "unicodedecodeerror": ExceptionInfo(
        "the server's answer could not be decoded", R.PROTOCOL_ERROR, None, T
    ),
}

_ALIASES = {
    "imaplib.error": "imap4.error",
    "imaplib.abort": "imap4.abort",
    "imaplib.readonly": "imap4.readonly",
    "poplib.error": "error_proto",
    "ssl.error": "sslerror",
    "select.error": "oserror",
    "os.error": "oserror",
}

# Words that reveal an exception in free text, mapped to its table key.
TEXT_TOKENS: dict[str, str] = {
    key: key for key in EXCEPTIONS if "." not in key and "_" not in key
}
del TEXT_TOKENS["timeout"], TEXT_TOKENS["oserror"], TEXT_TOKENS["ioerror"]


def exception_key(name: str | None) -> str | None:
    """Return the table key of an exception name, with or without module."""
    if not name or not isinstance(name, str):  # callers may pass anything
        return None
    parts = name.strip().lower().split(".")
    last = parts[-1]
    if len(parts) > 1 and last in ("error", "abort", "readonly"):
        owned = f"{parts[-2]}.{last}"
        owned = _ALIASES.get(owned, owned)
        if owned in EXCEPTIONS:
            return owned
    last = _ALIASES.get(last, last)
    return last if last in EXCEPTIONS else None


def qualified_name(exc: BaseException) -> str:
    """Return "module.Class" for an exception, or the bare name of a builtin."""
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _decode(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_STATUS = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)")


def _status_of(text: str) -> str | None:
    found = _STATUS.search(text[:4096])
    return found.group(1) if found else None


def _worst(recipients: dict[Any, Any]) -> tuple[int | None, str]:
    """Return the code and text of the worst refusal: first permanent, else first."""
    chosen: tuple[int | None, str] | None = None
    for answer in recipients.values():
        code, message = _split_answer(answer)
        if chosen is None:
            chosen = (code, message)
        if code is not None and code >= 500:
            return code, message
    return chosen if chosen is not None else (None, "")


def _split_answer(answer: Any) -> tuple[int | None, str]:
    if isinstance(answer, tuple) and len(answer) == 2:
        code, message = answer
        return (code if isinstance(code, int) else None), _decode(message)
    return None, _decode(answer)


def _reply(code: int | None, message: str) -> str:
    return f"{code} {message}".strip() if code is not None else message


def failure_from_exception(
    stage: str, exc: BaseException, text: str | None = None
) -> Failure:
    """Return the Failure that an exception raised at ``stage`` describes."""
    import smtplib

    code: int | None = None
    body: str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = _worst(exc.recipients or {})
        body = _reply(code, message)
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code if isinstance(exc.smtp_code, int) else None
        body = _reply(code, _decode(exc.smtp_error))
    elif exc.args and isinstance(exc.args[0], bytes):
        body = " ".join(_decode(arg) for arg in exc.args)
    else:
        body = str(exc)
    if code is not None and code < 0:
        code = None
    return Failure(
        stage=stage,
        text=text if text else body,
        reply_code=code,
        status=_status_of(body),
        exception=qualified_name(exc),
    )


def failures_from_recipients_refused(
    stage: str, exc: BaseException
) -> dict[str, Failure]:
    """Return one Failure per refused recipient of an SMTPRecipientsRefused."""
    recipients = getattr(exc, "recipients", None) or {}
    name = qualified_name(exc)
    failures: dict[str, Failure] = {}
    for address, answer in recipients.items():
        code, message = _split_answer(answer)
        failures[_decode(address)] = Failure(
            stage=stage,
            text=_reply(code, message),
            reply_code=code,
            status=_status_of(message),
            exception=name,
        )
    return failures
