"""SMTP basic reply codes (RFC 5321 and its predecessors, plus common extras)."""

from __future__ import annotations

from typing import NamedTuple

from .reasons import Reason
from .types import Persistence, Scope

R = Reason


class Reply(NamedTuple):
    """Describe what a basic reply code means when no better fact is known."""

    meaning: str
    reason: Reason
    scope: Scope | None = None
    persistence: Persistence | None = None


REPLY_CODES: dict[int, Reply] = {
    421: Reply(
        "the service is not available and the server is closing the connection",
        R.SERVER_BUSY,
        Scope.PROFILE,
    ),
    422: Reply("a non-standard deferral, usually throttling", R.SERVER_BUSY),
    431: Reply("the receiving server is out of memory or disk", R.SERVER_BUSY),
    432: Reply("a password transition is needed", R.PASSWORD_EXPIRED, Scope.MAILBOX),
    441: Reply("the recipient server did not respond", R.TIMEOUT),
    442: Reply("the connection was dropped", R.CONNECTION_LOST),
    446: Reply("the message hop count was exceeded (a loop)", R.SERVER_ERROR),
    447: Reply("the sending server timed out", R.TIMEOUT),
    449: Reply("a routing error occurred", R.SERVER_ERROR),
    450: Reply("the mailbox is unavailable for now", R.SERVER_BUSY),
    451: Reply("the server aborted with a local error in processing", R.SERVER_ERROR),
    452: Reply("the server has insufficient storage for now", R.SERVER_BUSY),
    454: Reply(
        "a temporary authentication or TLS failure occurred", R.SERVER_BUSY, None
    ),
    455: Reply("the server cannot take the parameters now", R.SERVER_BUSY),
    471: Reply(
        "a local filter or anti-spam check deferred the mail", R.POLICY_REJECTED
    ),
    500: Reply("the command was not recognised", R.PROTOCOL_ERROR, Scope.PROFILE),
    501: Reply("the command arguments had a syntax error", R.PROTOCOL_ERROR),
    502: Reply("the command is not implemented", R.NOT_SUPPORTED, Scope.PROFILE),
    503: Reply("the commands came in a bad sequence", R.PROTOCOL_ERROR, Scope.PROFILE),
    504: Reply(
        "a command parameter is not implemented", R.NOT_SUPPORTED, Scope.PROFILE
    ),
    510: Reply("the recipient address is bad", R.USER_UNKNOWN, Scope.EMAIL),
    511: Reply("the recipient address is bad", R.USER_UNKNOWN, Scope.EMAIL),
    512: Reply("the recipient's domain was not found", R.HOST_UNKNOWN, Scope.EMAIL),
    513: Reply("the address is not valid syntax", R.BAD_ADDRESS, Scope.EMAIL),
    521: Reply("the host does not accept mail", R.HOST_UNKNOWN, Scope.EMAIL),
    523: Reply("the message is larger than the recipient accepts", R.MESSAGE_TOO_LARGE),
    530: Reply("authentication is required", R.AUTHENTICATION_FAILED, Scope.PROFILE),
    534: Reply(
        "the authentication mechanism is too weak", R.AUTH_MECHANISM, Scope.MAILBOX
    ),
    535: Reply(
        "the authentication credentials are invalid",
        R.AUTHENTICATION_FAILED,
        Scope.MAILBOX,
    ),
    538: Reply(
        "the authentication mechanism needs encryption", R.TLS_REQUIRED, Scope.PROFILE
    ),
    541: Reply(
        "the recipient's server rejected the message as spam", R.POLICY_REJECTED
    ),
    550: Reply("the mailbox is unavailable or the action is refused", R.UNKNOWN),
    551: Reply("the user is not local", R.USER_UNKNOWN, Scope.EMAIL),
    552: Reply("the message exceeds a storage allocation", R.MESSAGE_TOO_LARGE),
    553: Reply("the mailbox name is not allowed", R.BAD_ADDRESS),
    554: Reply("the transaction failed", R.POLICY_REJECTED),
    555: Reply("MAIL FROM or RCPT TO parameters are not recognised", R.PROTOCOL_ERROR),
    556: Reply(
        "the domain does not accept mail (null MX)", R.HOST_UNKNOWN, Scope.EMAIL
    ),
}

CLASS_MEANING: dict[int, str] = {
    2: "class 2 means success",
    3: "class 3 means the server waits for more input",
    4: "class 4 means a transient failure",
    5: "class 5 means a permanent failure",
}


def lookup(code: int) -> Reply | None:
    """Return the table entry of a reply code, falling back to its class."""
    entry = REPLY_CODES.get(code)
    if entry is not None:
        return entry
    if 400 <= code < 500:
        return Reply("a transient failure occurred", R.UNKNOWN)
    if 500 <= code < 600:
        return Reply("a permanent failure occurred", R.UNKNOWN)
    return None
