"""HTTP statuses met behind Exchange Web Services, Graph and similar APIs."""

from __future__ import annotations

from .imap_codes import ProtocolCode
from .reasons import Reason
from .types import Persistence, Scope

R = Reason
P, T = Persistence.PERMANENT, Persistence.TRANSIENT
MAILBOX, PROFILE, EMAIL = Scope.MAILBOX, Scope.PROFILE, Scope.EMAIL

HTTP_STATUSES: dict[int, ProtocolCode] = {
    400: ProtocolCode(
        "the request was malformed", R.PROTOCOL_ERROR, None, P, "RFC 9110"
    ),
    401: ProtocolCode(
        "the credentials were refused", R.AUTHENTICATION_FAILED, MAILBOX, P, "RFC 9110"
    ),
    403: ProtocolCode(
        "the account may not do this", R.AUTHORIZATION_FAILED, MAILBOX, P, "RFC 9110"
    ),
    404: ProtocolCode(
        "the service URL does not exist", R.CONFIGURATION, PROFILE, P, "RFC 9110"
    ),
    408: ProtocolCode("the request timed out", R.TIMEOUT, PROFILE, T, "RFC 9110"),
    413: ProtocolCode(
        "the request (message) is too large", R.MESSAGE_TOO_LARGE, EMAIL, P, "RFC 9110"
    ),
    429: ProtocolCode(
        "the caller is being throttled", R.RATE_LIMITED, MAILBOX, T, "RFC 6585"
    ),
    500: ProtocolCode(
        "the service failed internally", R.SERVER_ERROR, None, T, "RFC 9110"
    ),
    502: ProtocolCode(
        "a gateway in front of the service failed",
        R.SERVER_BUSY,
        PROFILE,
        T,
        "RFC 9110",
    ),
    503: ProtocolCode(
        "the service is unavailable for now", R.SERVER_BUSY, PROFILE, T, "RFC 9110"
    ),
    504: ProtocolCode(
        "a gateway in front of the service timed out", R.TIMEOUT, PROFILE, T, "RFC 9110"
    ),
    507: ProtocolCode(
        "the mailbox is out of storage", R.MAILBOX_FULL, MAILBOX, P, "RFC 4918"
    ),
}

# errno values of Linux and Windows sockets, and getaddrinfo's EAI_* codes.
ERRNOS: dict[int, ProtocolCode] = {
    -2: ProtocolCode("the name is not known", R.HOST_UNKNOWN, PROFILE, P, "EAI_NONAME"),
    -3: ProtocolCode(
        "the name server failed for now", R.HOST_UNKNOWN, PROFILE, T, "EAI_AGAIN"
    ),
    -5: ProtocolCode(
        "the name has no address", R.HOST_UNKNOWN, PROFILE, P, "EAI_NODATA"
    ),
    11001: ProtocolCode(
        "the host is not known", R.HOST_UNKNOWN, PROFILE, P, "WSAHOST_NOT_FOUND"
    ),
    11002: ProtocolCode(
        "the name server failed for now", R.HOST_UNKNOWN, PROFILE, T, "WSATRY_AGAIN"
    ),
    111: ProtocolCode(
        "the port refused the connection",
        R.CONNECTION_REFUSED,
        PROFILE,
        T,
        "ECONNREFUSED",
    ),
    10061: ProtocolCode(
        "the port refused the connection",
        R.CONNECTION_REFUSED,
        PROFILE,
        T,
        "WSAECONNREFUSED",
    ),
    104: ProtocolCode(
        "the peer reset the connection", R.CONNECTION_LOST, PROFILE, T, "ECONNRESET"
    ),
    10054: ProtocolCode(
        "the peer reset the connection", R.CONNECTION_LOST, PROFILE, T, "WSAECONNRESET"
    ),
    103: ProtocolCode(
        "the connection was aborted", R.CONNECTION_LOST, PROFILE, T, "ECONNABORTED"
    ),
    10053: ProtocolCode(
        "the connection was aborted", R.CONNECTION_LOST, PROFILE, T, "WSAECONNABORTED"
    ),
    32: ProtocolCode(
        "the peer closed the connection", R.CONNECTION_LOST, PROFILE, T, "EPIPE"
    ),
    110: ProtocolCode("the connection timed out", R.TIMEOUT, PROFILE, T, "ETIMEDOUT"),
    10060: ProtocolCode(
        "the connection timed out", R.TIMEOUT, PROFILE, T, "WSAETIMEDOUT"
    ),
    101: ProtocolCode(
        "the network is unreachable", R.NETWORK_ERROR, PROFILE, T, "ENETUNREACH"
    ),
    10051: ProtocolCode(
        "the network is unreachable", R.NETWORK_ERROR, PROFILE, T, "WSAENETUNREACH"
    ),
    113: ProtocolCode(
        "the host is unreachable", R.NETWORK_ERROR, PROFILE, T, "EHOSTUNREACH"
    ),
    10065: ProtocolCode(
        "the host is unreachable", R.NETWORK_ERROR, PROFILE, T, "WSAEHOSTUNREACH"
    ),
}
