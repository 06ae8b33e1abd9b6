"""The IANA registry of SMTP enhanced status codes (RFC 3463, RFC 5248).

Each detail carries what it means, the failure reason it stands for, the scope
it concerns when the code alone decides it (None: the stage decides), and a
persistence that overrides the class digit where the standards or practice say
so (None: the class digit decides).
"""

from __future__ import annotations

from typing import NamedTuple

from .reasons import Reason
from .types import Persistence, Scope

R = Reason
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE
TRANSIENT = Persistence.TRANSIENT


class Detail(NamedTuple):
    """Describe one subject.detail pair of the registry."""

    meaning: str
    reason: Reason
    scope: Scope | None = None
    persistence: Persistence | None = None
    source: str = "RFC 3463"


CLASSES: dict[str, tuple[str, Persistence | None]] = {
    "2": ("success", None),
    "4": ("persistent transient failure", Persistence.TRANSIENT),
    "5": ("permanent failure", Persistence.PERMANENT),
}

SUBJECTS: dict[int, str] = {
    0: "other or undefined status",
    1: "addressing",
    2: "mailbox",
    3: "mail system",
    4: "network and routing",
    5: "mail delivery protocol",
    6: "message content or media",
    7: "security or policy",
}

# The whole registry, keyed "subject.detail".
DETAILS: dict[str, Detail] = {
    "0.0": Detail("the status is not further specified", R.UNKNOWN),
    "1.0": Detail("something about an address went wrong", R.BAD_ADDRESS),
    "1.1": Detail("the destination mailbox does not exist", R.USER_UNKNOWN),
    "1.2": Detail(
        "the destination system (domain) does not exist or accept mail",
        R.HOST_UNKNOWN,
    ),
    "1.3": Detail("the destination address is not valid syntax", R.BAD_ADDRESS),
    "1.4": Detail("the destination address is ambiguous", R.BAD_ADDRESS),
    "1.5": Detail("the destination address is valid", R.NOTICE),
    "1.6": Detail(
        "the destination mailbox has moved and left no forwarding address",
        R.USER_UNKNOWN,
    ),
    "1.7": Detail(
        "the sender's address is not valid syntax", R.SENDER_REJECTED, MAILBOX
    ),
    "1.8": Detail("the sender's domain is not valid", R.SENDER_REJECTED, MAILBOX),
    "1.9": Detail(
        "the message was relayed to a mailer that does not support DSN",
        R.NOTICE,
        source="RFC 3886",
    ),
    "1.10": Detail(
        "the recipient domain publishes a null MX and accepts no mail",
        R.HOST_UNKNOWN,
        source="RFC 7505",
    ),
    "2.0": Detail("something about the destination mailbox went wrong", R.UNKNOWN),
    "2.1": Detail(
        "the destination mailbox is disabled and accepts no messages",
        R.MAILBOX_DISABLED,
    ),
    # RFC 3463 itself asks that a full mailbox be treated as a persistent
    # transient failure: the owner can make room.
    "2.2": Detail("the destination mailbox is full", R.MAILBOX_FULL, None, TRANSIENT),
    "2.3": Detail(
        "the message is longer than the destination mailbox accepts",
        R.MESSAGE_TOO_LARGE,
        EMAIL,
    ),
    "2.4": Detail("a mailing list could not be expanded", R.SERVER_ERROR),
    "3.0": Detail("the destination mail system failed", R.SERVER_ERROR),
    "3.1": Detail("the destination mail system is out of storage", R.SERVER_ERROR),
    "3.2": Detail(
        "the destination mail system is not accepting network messages",
        R.SERVER_BUSY,
    ),
    "3.3": Detail(
        "the destination system lacks a feature the message needs", R.NOT_SUPPORTED
    ),
    "3.4": Detail(
        "the message is larger than the mail system accepts", R.MESSAGE_TOO_LARGE, EMAIL
    ),
    "3.5": Detail("the mail system is not configured correctly", R.SERVER_ERROR),
    "3.6": Detail("the requested priority was changed", R.NOTICE, source="RFC 6710"),
    "4.0": Detail("something about the network or routing went wrong", R.NETWORK_ERROR),
    "4.1": Detail("the destination host did not answer", R.TIMEOUT),
    "4.2": Detail("the connection broke", R.CONNECTION_LOST),
    "4.3": Detail("a directory server (such as DNS) failed", R.HOST_UNKNOWN),
    "4.4": Detail("no route to the destination could be found", R.HOST_UNKNOWN),
    "4.5": Detail("the mail system is congested", R.SERVER_BUSY),
    "4.6": Detail("the message is looping between servers", R.SERVER_ERROR),
    "4.7": Detail("the delivery time expired", R.EXPIRED, EMAIL),
    "5.0": Detail("something about the SMTP dialogue went wrong", R.PROTOCOL_ERROR),
    "5.1": Detail("a command was not valid", R.PROTOCOL_ERROR),
    "5.2": Detail("a command had a syntax error", R.PROTOCOL_ERROR),
    "5.3": Detail("the message has too many recipients", R.RATE_LIMITED, EMAIL),
    "5.4": Detail("a command had invalid arguments", R.PROTOCOL_ERROR),
    "5.5": Detail("the protocol version is wrong", R.PROTOCOL_ERROR),
    "5.6": Detail(
        "an authentication exchange line was too long",
        R.AUTHENTICATION_FAILED,
        MAILBOX,
        source="RFC 4954",
    ),
    "6.0": Detail("something about the content went wrong", R.POLICY_REJECTED, EMAIL),
    "6.1": Detail(
        "a media type in the message is not supported", R.POLICY_REJECTED, EMAIL
    ),
    "6.2": Detail(
        "the content needs a conversion that is prohibited", R.POLICY_REJECTED, EMAIL
    ),
    "6.3": Detail(
        "the content needs a conversion that is not supported",
        R.POLICY_REJECTED,
        EMAIL,
    ),
    "6.4": Detail("the content was converted with loss", R.NOTICE, EMAIL),
    "6.5": Detail("the content conversion failed", R.POLICY_REJECTED, EMAIL),
    "6.6": Detail(
        "the referenced message content is not available",
        R.SERVER_ERROR,
        EMAIL,
        source="RFC 4468",
    ),
    "6.7": Detail(
        "non-ASCII addresses are not allowed for this sender or recipient",
        R.BAD_ADDRESS,
        EMAIL,
        source="RFC 6531",
    ),
    "6.8": Detail(
        "a UTF-8 reply is needed but the client does not permit it",
        R.POLICY_REJECTED,
        EMAIL,
        source="RFC 6531",
    ),
    "6.9": Detail(
        "a UTF-8 header cannot be transferred to a recipient",
        R.POLICY_REJECTED,
        EMAIL,
        source="RFC 6531",
    ),
    "6.10": Detail(
        "a UTF-8 reply is needed (deprecated duplicate of X.6.8)",
        R.POLICY_REJECTED,
        EMAIL,
        source="RFC 6531",
    ),
    "7.0": Detail("a security or policy check failed", R.POLICY_REJECTED),
    "7.1": Detail(
        "delivery is not authorised and the message was refused", R.POLICY_REJECTED
    ),
    "7.2": Detail(
        "expanding the mailing list is prohibited", R.PERMISSION_DENIED, EMAIL
    ),
    "7.3": Detail(
        "a security conversion is required but not possible", R.POLICY_REJECTED
    ),
    "7.4": Detail("the security features are not supported", R.NOT_SUPPORTED),
    "7.5": Detail("a cryptographic operation failed", R.POLICY_REJECTED),
    "7.6": Detail("a cryptographic algorithm is not supported", R.NOT_SUPPORTED),
    "7.7": Detail("the message integrity check failed", R.POLICY_REJECTED, EMAIL),
    "7.8": Detail(
        "the authentication credentials are invalid",
        R.AUTHENTICATION_FAILED,
        MAILBOX,
        source="RFC 4954",
    ),
    "7.9": Detail(
        "the authentication mechanism is too weak",
        R.AUTH_MECHANISM,
        MAILBOX,
        source="RFC 4954",
    ),
    "7.10": Detail("encryption is needed", R.TLS_REQUIRED, PROFILE, source="RFC 5248"),
    "7.11": Detail(
        "the authentication mechanism needs encryption",
        R.TLS_REQUIRED,
        PROFILE,
        source="RFC 4954",
    ),
    "7.12": Detail(
        "a password transition is needed",
        R.PASSWORD_EXPIRED,
        MAILBOX,
        source="RFC 4954",
    ),
    "7.13": Detail(
        "the user account is disabled", R.MAILBOX_DISABLED, None, source="RFC 5248"
    ),
    "7.14": Detail(
        "a trust relationship is required", R.AUTHORIZATION_FAILED, source="RFC 5248"
    ),
    "7.15": Detail(
        "the priority level is too low", R.POLICY_REJECTED, EMAIL, source="RFC 6710"
    ),
    "7.16": Detail(
        "the message is too big for its priority",
        R.MESSAGE_TOO_LARGE,
        EMAIL,
        source="RFC 6710",
    ),
    "7.17": Detail(
        "the mailbox owner has changed", R.USER_UNKNOWN, EMAIL, source="RFC 7293"
    ),
    "7.18": Detail(
        "the domain owner has changed", R.USER_UNKNOWN, EMAIL, source="RFC 7293"
    ),
    "7.19": Detail(
        "the require-recipient-valid-since test cannot be completed",
        R.NOT_SUPPORTED,
        EMAIL,
        source="RFC 7293",
    ),
    "7.20": Detail(
        "no passing DKIM signature was found",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 7372",
    ),
    "7.21": Detail(
        "no acceptable DKIM signature was found",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 7372",
    ),
    "7.22": Detail(
        "no valid author-matched DKIM signature was found",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 7372",
    ),
    "7.23": Detail(
        "the SPF check failed", R.SENDER_AUTHENTICATION, PROFILE, source="RFC 7372"
    ),
    "7.24": Detail(
        "the SPF check could not be evaluated",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 7372",
    ),
    "7.25": Detail(
        "the reverse DNS check of the sending IP failed",
        R.BLOCKED,
        PROFILE,
        source="RFC 7372",
    ),
    "7.26": Detail(
        "several sender authentication checks (SPF, DKIM, DMARC) failed",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 7372",
    ),
    "7.27": Detail(
        "the sender's domain publishes a null MX",
        R.SENDER_REJECTED,
        MAILBOX,
        source="RFC 7505",
    ),
    "7.28": Detail(
        "a mail flood from the sender was detected",
        R.RATE_LIMITED,
        PROFILE,
        source="IANA registry",
    ),
    "7.29": Detail(
        "the ARC validation failed",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        source="RFC 8617",
    ),
    "7.30": Detail(
        "the REQUIRETLS extension is required but not supported",
        R.TLS_REQUIRED,
        EMAIL,
        source="RFC 8689",
    ),
}

# Codes outside the registry that big providers use with a fixed meaning.
VENDOR_DETAILS: dict[str, Detail] = {
    "1.90": Detail(
        "the sender reached its daily recipient limit (Microsoft 365)",
        R.QUOTA_EXCEEDED,
        MAILBOX,
        None,
        "Microsoft",
    ),
    "2.121": Detail(
        "the recipient's hourly message limit was reached (Microsoft 365)",
        R.RATE_LIMITED,
        EMAIL,
        TRANSIENT,
        "Microsoft",
    ),
    "2.122": Detail(
        "the recipient's hourly message limit was reached (Microsoft 365)",
        R.RATE_LIMITED,
        EMAIL,
        TRANSIENT,
        "Microsoft",
    ),
    "4.14": Detail(
        "the hop count was exceeded, a mail loop (Microsoft 365)",
        R.SERVER_ERROR,
        None,
        None,
        "Microsoft",
    ),
    "4.310": Detail(
        "the recipient domain does not exist in DNS (Microsoft 365)",
        R.HOST_UNKNOWN,
        EMAIL,
        None,
        "Microsoft",
    ),
    "4.316": Detail(
        "the destination refused the connection (Microsoft 365)",
        R.CONNECTION_REFUSED,
        EMAIL,
        None,
        "Microsoft",
    ),
    "7.57": Detail(
        "the client was not authenticated to send mail (Microsoft 365)",
        R.AUTHENTICATION_FAILED,
        PROFILE,
        None,
        "Microsoft",
    ),
    "7.60": Detail(
        "the mailbox may not send as this sender (Microsoft 365)",
        R.SENDER_REJECTED,
        MAILBOX,
        None,
        "Microsoft",
    ),
    "7.64": Detail(
        "relay was denied because the sender is not attributed to a tenant"
        " (Microsoft 365)",
        R.RELAY_DENIED,
        PROFILE,
        None,
        "Microsoft",
    ),
    "7.124": Detail(
        "the sender may not send to this group (Microsoft 365)",
        R.PERMISSION_DENIED,
        EMAIL,
        None,
        "Microsoft",
    ),
    "7.133": Detail(
        "the group accepts only authenticated senders (Microsoft 365)",
        R.PERMISSION_DENIED,
        EMAIL,
        None,
        "Microsoft",
    ),
    "7.501": Detail(
        "the sending account is banned for spam (Microsoft 365)",
        R.BLOCKED,
        MAILBOX,
        None,
        "Microsoft",
    ),
    "7.509": Detail(
        "the sender's domain failed its DMARC policy (Microsoft 365)",
        R.SENDER_AUTHENTICATION,
        PROFILE,
        None,
        "Microsoft",
    ),
    "7.606": Detail(
        "the sending IP is banned (Microsoft 365)",
        R.BLOCKED,
        PROFILE,
        None,
        "Microsoft",
    ),
    "7.708": Detail(
        "traffic from the sending IP is not accepted (Microsoft 365)",
        R.BLOCKED,
        PROFILE,
        None,
        "Microsoft",
    ),
    "7.750": Detail(
        "the sending domain is not registered with the tenant (Microsoft 365)",
        R.BLOCKED,
        PROFILE,
        None,
        "Microsoft",
    ),
}


def lookup(status: str) -> Detail | None:
    """Return the registry (or vendor) entry of a status like "5.1.1"."""
    _, _, rest = status.partition(".")
    subject_text, _, detail_text = rest.partition(".")
    if not (subject_text.isdigit() and detail_text.isdigit()):
        return None
    subject, detail = int(subject_text), int(detail_text[:4])
    key = f"{subject}.{detail}"
    entry = DETAILS.get(key) or VENDOR_DETAILS.get(key)
    if entry is None and subject == 7 and 600 <= detail <= 649:
        entry = VENDOR_DETAILS["7.606"]
    elif entry is None and subject == 7 and 700 <= detail <= 799:
        entry = VENDOR_DETAILS["7.750"]
    return entry


def subject_name(subject: int) -> str:
    """Return the registry's name for a subject number."""
    return SUBJECTS.get(subject, "unregistered subject")
