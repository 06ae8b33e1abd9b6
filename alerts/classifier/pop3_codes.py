"""POP3 extended response codes (RFC 2449, RFC 3206)."""

from __future__ import annotations

from .imap_codes import ProtocolCode
from .reasons import Reason
from .types import Persistence, Scope

R = Reason
P, T = Persistence.PERMANENT, Persistence.TRANSIENT

POP3_CODES: dict[str, ProtocolCode] = {
    "LOGIN-DELAY": ProtocolCode(
        "the user logged in too soon after the last login",
        R.RATE_LIMITED,
        Scope.MAILBOX,
        T,
        "RFC 2449",
    ),
    "IN-USE": ProtocolCode(
        "another session holds the maildrop",
        R.MAILBOX_IN_USE,
        Scope.MAILBOX,
        T,
        "RFC 2449",
    ),
    "SYS/TEMP": ProtocolCode(
        "the server has a temporary system problem",
        R.SERVER_BUSY,
        Scope.PROFILE,
        T,
        "RFC 3206",
    ),
    "SYS/PERM": ProtocolCode(
        "the server has a system problem that needs its administrator",
        R.SERVER_ERROR,
        Scope.PROFILE,
        P,
        "RFC 3206",
    ),
    "AUTH": ProtocolCode(
        "the credentials were rejected",
        R.AUTHENTICATION_FAILED,
        Scope.MAILBOX,
        P,
        "RFC 3206",
    ),
    "UTF8": ProtocolCode(
        "the server needs UTF-8 mode for this user",
        R.NOT_SUPPORTED,
        Scope.PROFILE,
        P,
        "RFC 6856",
    ),
}

BARE_ERR_LOGIN = ProtocolCode(
    "the server refused the login",
    R.AUTHENTICATION_FAILED,
    Scope.MAILBOX,
    P,
    "RFC 1939",
)
BARE_ERR = ProtocolCode(
    "the server refused the command", R.UNKNOWN, None, T, "RFC 1939"
)
