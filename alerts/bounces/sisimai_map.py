"""Sisimai's reason names, as our Reason values.

Used by the corpus acceptance test to compare our reasons with the reference
answers of the Sisimai project. Where one Sisimai name covers what our
vocabulary tells apart, the entry lists every value that agrees with it,
the closest first.
"""

from __future__ import annotations

from alerts.classifier.reasons import Reason

SISIMAI_REASONS: dict[str, tuple[Reason, ...]] = {
    # The address does not exist at the destination.
    "userunknown": (Reason.USER_UNKNOWN, Reason.BAD_ADDRESS),
    # Recipient's mailbox over quota.
    "mailboxfull": (Reason.MAILBOX_FULL,),
    # Delivery given up after the retry period (often a network cause).
    "expired": (Reason.EXPIRED, Reason.TIMEOUT, Reason.NETWORK_ERROR),
    # Sisimai's "rejected" is the envelope sender refused by the receiver; a
    # refusal of the sender by a block list or reputation we call "blocked".
    "rejected": (Reason.SENDER_REJECTED, Reason.POLICY_REJECTED, Reason.BLOCKED),
    # Refused after RCPT by a recipient-side filter (often a hidden unknown user).
    "filtered": (Reason.POLICY_REJECTED, Reason.USER_UNKNOWN),
    # The sending IP or host is blocked, block-listed.
    "blocked": (Reason.BLOCKED,),
    # Complaint (ARF): not a failure; we say "notice".
    "feedback": (Reason.NOTICE,),
    # Destination domain does not resolve or has no MX.
    "hostunknown": (Reason.HOST_UNKNOWN,),
    # SPF, DKIM or DMARC failure of the sender.
    "authfailure": (Reason.SENDER_AUTHENTICATION,),
    # DNS, routing or connection trouble on the way.
    "networkerror": (
        Reason.NETWORK_ERROR,
        Reason.TIMEOUT,
        Reason.CONNECTION_REFUSED,
        Reason.CONNECTION_LOST,
        Reason.HOST_UNKNOWN,
    ),
    # Refused because the sending IP has no (matching) reverse DNS: a block.
    "requireptr": (Reason.BLOCKED,),
    # Refused by the receiver's policy.
    "policyviolation": (Reason.POLICY_REJECTED,),
    # The recipient's account is suspended or disabled.
    "suspend": (Reason.MAILBOX_DISABLED,),
    # Refused as spam: a content policy decision.
    "spamdetected": (Reason.POLICY_REJECTED,),
    # A fault of the destination's mail system.
    "systemerror": (Reason.SERVER_ERROR, Reason.SERVER_BUSY),
    # The destination accepts no mail (null MX, 521/556).
    "notaccept": (Reason.HOST_UNKNOWN, Reason.BLOCKED, Reason.POLICY_REJECTED),
    # Auto-reply: not a failure.
    "vacation": (Reason.NOTICE,),
    # Authentication or TLS demanded by the receiver.
    "securityerror": (
        Reason.SENDER_AUTHENTICATION,
        Reason.AUTHENTICATION_FAILED,
        Reason.AUTH_MECHANISM,
        Reason.TLS_REQUIRED,
    ),
    # Sisimai could not decide yet; anything we say is a refinement.
    "onhold": tuple(Reason),
    # Relaying refused.
    "norelaying": (Reason.RELAY_DENIED,),
    # A local mailer program failed.
    "mailererror": (Reason.SERVER_ERROR,),
    # The sending IP's reputation is poor: a block.
    "badreputation": (Reason.BLOCKED,),
    # Too many connections: rate limiting.
    "toomanyconn": (Reason.RATE_LIMITED,),
    # Message too big (older Sisimai name).
    "mesgtoobig": (Reason.MESSAGE_TOO_LARGE,),
    # Content refused (headers, MIME, attachments): a policy decision.
    "contenterror": (Reason.POLICY_REJECTED,),
    # A virus was found.
    "virusdetected": (Reason.VIRUS_DETECTED,),
    # The destination's disk is full.
    "systemfull": (Reason.SERVER_ERROR, Reason.MAILBOX_FULL),
    # SMTP command syntax trouble.
    "syntaxerror": (Reason.PROTOCOL_ERROR, Reason.BAD_ADDRESS),
    # Sending too fast (older Sisimai name).
    "speeding": (Reason.RATE_LIMITED,),
    # The message does not conform to RFC 5322.
    "notcompliantrfc": (Reason.POLICY_REJECTED, Reason.PROTOCOL_ERROR),
    # The message exceeds a size limit of the recipient (older Sisimai name).
    "exceedlimit": (Reason.MESSAGE_TOO_LARGE,),
    # Sisimai could not tell.
    "undefined": tuple(Reason),
    # The address moved (551): it no longer exists here.
    "hasmoved": (Reason.USER_UNKNOWN, Reason.MAILBOX_DISABLED),
    # STARTTLS failed.
    "failedstarttls": (Reason.TLS_FAILED, Reason.TLS_REQUIRED),
    # Delivered: good news.
    "delivered": (Reason.NOTICE,),
}


def agrees(sisimai_reason: str, ours: str) -> bool:
    """Tell whether our reason value agrees with a Sisimai reason name."""
    accepted = SISIMAI_REASONS.get(sisimai_reason)
    if accepted is None:
        return False
    return any(reason.value == ours for reason in accepted)
