"""The documented vocabulary of failure reasons.

Every classification and every bounce recipient carries one of these values.
The classifier and the bounce reader share it; the database stores the value.
"""

from __future__ import annotations

import enum


class Reason(str, enum.Enum):  # noqa: UP042 - str() must stay the member name
    USER_UNKNOWN = "user_unknown"  # the recipient address does not exist
    MAILBOX_FULL = "mailbox_full"  # the recipient's (or our) mailbox is over quota
    MAILBOX_DISABLED = "mailbox_disabled"  # account suspended, inactive, deleted
    BAD_ADDRESS = "bad_address"  # syntax error in an address
    HOST_UNKNOWN = "host_unknown"  # a name does not resolve, no MX, null MX
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_LOST = "connection_lost"  # reset, closed, disconnected
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"  # unreachable, other socket trouble
    TLS_FAILED = "tls_failed"  # handshake, protocol version, STARTTLS refused
    CERTIFICATE_INVALID = "certificate_invalid"  # does not verify, expired, wrong host
    TLS_REQUIRED = "tls_required"  # server insists on encryption first
    AUTHENTICATION_FAILED = "authentication_failed"
    AUTH_MECHANISM = "auth_mechanism"  # mechanism or AUTH itself not offered
    AUTHORIZATION_FAILED = "authorization_failed"  # logged in, not allowed
    PASSWORD_EXPIRED = "password_expired"
    PERMISSION_DENIED = "permission_denied"  # NOPERM, folder not allowed
    SENDER_REJECTED = "sender_rejected"  # MAIL FROM refused, not allowed to send as
    RELAY_DENIED = "relay_denied"
    BLOCKED = "blocked"  # IP or domain on a block list, poor reputation
    SENDER_AUTHENTICATION = "sender_authentication"  # SPF, DKIM, DMARC failure
    POLICY_REJECTED = "policy_rejected"  # spam, content or policy filter
    VIRUS_DETECTED = "virus_detected"
    MESSAGE_TOO_LARGE = "message_too_large"
    RATE_LIMITED = "rate_limited"  # too many messages, connections, throttling
    QUOTA_EXCEEDED = "quota_exceeded"  # sending quota of the account
    GREYLISTED = "greylisted"
    SERVER_BUSY = "server_busy"  # 421, service unavailable, try later
    SERVER_ERROR = "server_error"  # server bug, local error in processing
    MAILBOX_IN_USE = "mailbox_in_use"  # POP3 IN-USE, IMAP INUSE, LOGIN-DELAY
    EXPIRED = "expired"  # delivery given up after the retry period
    PROTOCOL_ERROR = "protocol_error"  # garbage, syntax, unexpected reply
    NOT_SUPPORTED = "not_supported"  # command or extension not supported
    CONFIGURATION = "configuration"  # a setting of the profile is wrong
    SYNC_PROMPT = "sync_prompt"  # a sync engine asks the owner to decide
    NOTICE = "notice"  # good news and information
    UNKNOWN = "unknown"


REASON_LABELS: dict[Reason, str] = {
    Reason.USER_UNKNOWN: "User unknown",
    Reason.MAILBOX_FULL: "Mailbox full",
    Reason.MAILBOX_DISABLED: "Mailbox disabled",
    Reason.BAD_ADDRESS: "Bad address",
    Reason.HOST_UNKNOWN: "Host unknown",
    Reason.CONNECTION_REFUSED: "Connection refused",
    Reason.CONNECTION_LOST: "Connection lost",
    Reason.TIMEOUT: "Timeout",
    Reason.NETWORK_ERROR: "Network error",
    Reason.TLS_FAILED: "TLS failed",
    Reason.CERTIFICATE_INVALID: "Certificate invalid",
    Reason.TLS_REQUIRED: "TLS required",
    Reason.AUTHENTICATION_FAILED: "Authentication failed",
    Reason.AUTH_MECHANISM: "Authentication mechanism unavailable",
    Reason.AUTHORIZATION_FAILED: "Authorization failed",
    Reason.PASSWORD_EXPIRED: "Password expired",
    Reason.PERMISSION_DENIED: "Permission denied",
    Reason.SENDER_REJECTED: "Sender rejected",
    Reason.RELAY_DENIED: "Relay denied",
    Reason.BLOCKED: "Blocked",
    Reason.SENDER_AUTHENTICATION: "SPF/DKIM/DMARC failure",
    Reason.POLICY_REJECTED: "Rejected by policy",
    Reason.VIRUS_DETECTED: "Virus detected",
    Reason.MESSAGE_TOO_LARGE: "Message too large",
    Reason.RATE_LIMITED: "Rate limited",
    Reason.QUOTA_EXCEEDED: "Sending quota exceeded",
    Reason.GREYLISTED: "Greylisted",
    Reason.SERVER_BUSY: "Server busy",
    Reason.SERVER_ERROR: "Server error",
    Reason.MAILBOX_IN_USE: "Mailbox in use",
    Reason.EXPIRED: "Expired",
    Reason.PROTOCOL_ERROR: "Protocol error",
    Reason.NOT_SUPPORTED: "Not supported",
    Reason.CONFIGURATION: "Configuration error",
    Reason.SYNC_PROMPT: "Sync prompt",
    Reason.NOTICE: "Notice",
    Reason.UNKNOWN: "Unknown",
}


def label_of(code: str) -> str:
    """Return the words for a reason value; an unknown value is shown plain."""
    try:
        return REASON_LABELS[Reason(code)]
    except ValueError:
        return code.replace("_", " ")
