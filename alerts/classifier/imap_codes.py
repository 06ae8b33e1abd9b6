"""IMAP response codes: RFC 5530 and the codes of RFC 3501/9051 and extensions."""

from __future__ import annotations

from typing import NamedTuple

from .reasons import Reason
from .types import Persistence, Scope

R = Reason
P, T = Persistence.PERMANENT, Persistence.TRANSIENT
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE


class ProtocolCode(NamedTuple):
    """Describe what an IMAP or POP3 response code means."""

    meaning: str
    reason: Reason
    scope: Scope | None
    persistence: Persistence
    source: str


IMAP_CODES: dict[str, ProtocolCode] = {
    # RFC 5530
    "UNAVAILABLE": ProtocolCode(
        "a subsystem the server needs is down for now",
        R.SERVER_BUSY,
        None,
        T,
        "RFC 5530",
    ),
    "AUTHENTICATIONFAILED": ProtocolCode(
        "the user name or password was rejected",
        R.AUTHENTICATION_FAILED,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "AUTHORIZATIONFAILED": ProtocolCode(
        "the credentials are valid but may not act as this user",
        R.AUTHORIZATION_FAILED,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "EXPIRED": ProtocolCode(
        "the credentials (password or certificate) have expired",
        R.PASSWORD_EXPIRED,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "PRIVACYREQUIRED": ProtocolCode(
        "the operation is refused without an encrypted connection",
        R.TLS_REQUIRED,
        PROFILE,
        P,
        "RFC 5530",
    ),
    "CONTACTADMIN": ProtocolCode(
        "the account needs its administrator's attention",
        R.MAILBOX_DISABLED,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "NOPERM": ProtocolCode(
        "the user may not do this on this mailbox",
        R.PERMISSION_DENIED,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "INUSE": ProtocolCode(
        "another session holds the mailbox", R.MAILBOX_IN_USE, MAILBOX, T, "RFC 5530"
    ),
    "EXPUNGEISSUED": ProtocolCode(
        "another session expunged messages meanwhile",
        R.MAILBOX_IN_USE,
        MAILBOX,
        T,
        "RFC 5530",
    ),
    "CORRUPTION": ProtocolCode(
        "the server found corrupted data", R.SERVER_ERROR, MAILBOX, P, "RFC 5530"
    ),
    "SERVERBUG": ProtocolCode(
        "the server hit an internal bug", R.SERVER_ERROR, None, T, "RFC 5530"
    ),
    "CLIENTBUG": ProtocolCode(
        "the server says the client misbehaved", R.PROTOCOL_ERROR, None, P, "RFC 5530"
    ),
    "CANNOT": ProtocolCode(
        "the operation can never succeed", R.PROTOCOL_ERROR, None, P, "RFC 5530"
    ),
    "LIMIT": ProtocolCode(
        "an implementation limit was reached", R.QUOTA_EXCEEDED, MAILBOX, P, "RFC 5530"
    ),
    "OVERQUOTA": ProtocolCode(
        "the mailbox would exceed its storage quota",
        R.MAILBOX_FULL,
        MAILBOX,
        P,
        "RFC 5530",
    ),
    "ALREADYEXISTS": ProtocolCode(
        "the target already exists", R.CONFIGURATION, MAILBOX, P, "RFC 5530"
    ),
    "NONEXISTENT": ProtocolCode(
        "the target folder does not exist", R.CONFIGURATION, MAILBOX, P, "RFC 5530"
    ),
    # RFC 3501 / RFC 9051
    "TRYCREATE": ProtocolCode(
        "the target folder does not exist and could be created",
        R.CONFIGURATION,
        MAILBOX,
        P,
        "RFC 9051",
    ),
    "READ-ONLY": ProtocolCode(
        "the folder is open read-only", R.PERMISSION_DENIED, MAILBOX, P, "RFC 9051"
    ),
    "PARSE": ProtocolCode(
        "the server could not parse a message", R.PROTOCOL_ERROR, EMAIL, P, "RFC 9051"
    ),
    "BADCHARSET": ProtocolCode(
        "the search charset is not supported", R.NOT_SUPPORTED, None, P, "RFC 9051"
    ),
    "ALERT": ProtocolCode(
        "the server sends a message the user must read", R.UNKNOWN, None, T, "RFC 9051"
    ),
    # Extensions
    "TOOBIG": ProtocolCode(
        "the message is larger than the server accepts",
        R.MESSAGE_TOO_LARGE,
        EMAIL,
        P,
        "RFC 4469, RFC 7889",
    ),
    "BADURL": ProtocolCode(
        "a message URL could not be resolved", R.PROTOCOL_ERROR, EMAIL, P, "RFC 4469"
    ),
    "NOTSAVED": ProtocolCode(
        "the search result could not be saved", R.SERVER_ERROR, None, T, "RFC 5182"
    ),
    "UIDNOTSTICKY": ProtocolCode(
        "the folder does not keep message identifiers",
        R.NOT_SUPPORTED,
        MAILBOX,
        P,
        "RFC 4315",
    ),
    "CLOSED": ProtocolCode(
        "the previously selected folder was closed", R.NOTICE, None, T, "RFC 7162"
    ),
    "COMPRESSIONACTIVE": ProtocolCode(
        "compression is already active", R.PROTOCOL_ERROR, None, P, "RFC 4978"
    ),
    "NOTIFICATIONOVERFLOW": ProtocolCode(
        "the server stopped sending notifications", R.SERVER_BUSY, None, T, "RFC 5465"
    ),
    "USEATTR": ProtocolCode(
        "the special-use attribute is not supported",
        R.NOT_SUPPORTED,
        None,
        P,
        "RFC 6154",
    ),
    # Provider codes
    "WEBALERT": ProtocolCode(
        "the provider asks the user to sign in through the web first",
        R.AUTHENTICATION_FAILED,
        MAILBOX,
        P,
        "Gmail",
    ),
    "THROTTLED": ProtocolCode(
        "the account is being throttled", R.RATE_LIMITED, MAILBOX, T, "Gmail"
    ),
}

# An IMAP answer without a response code says less: its kind and the stage it
# came in are all there is to go on.
BARE_ANSWERS: dict[str, ProtocolCode] = {
    "NO-login": ProtocolCode(
        "the server refused the login", R.AUTHENTICATION_FAILED, MAILBOX, P, "RFC 9051"
    ),
    "NO": ProtocolCode(
        "the server refused the command", R.UNKNOWN, None, T, "RFC 9051"
    ),
    "BAD": ProtocolCode(
        "the server did not understand the command",
        R.PROTOCOL_ERROR,
        None,
        P,
        "RFC 9051",
    ),
    "BYE": ProtocolCode(
        "the server closed the session", R.CONNECTION_LOST, PROFILE, T, "RFC 9051"
    ),
}
