"""Bounce-only wording rules and the RFC 3463 status table.

The shared classifier reads server replies in general; these rules read the
phrases that MTAs and providers put in bounce reports. They are tried before
the classifier's answer is taken, and the status table last.
"""

from __future__ import annotations

import re

from alerts.classifier.reasons import Reason

# Ordered: the first pattern that matches wins, so narrower wordings come
# before the broad ones that could swallow them.
_RULES: list[tuple[re.Pattern[str], Reason]] = [
    (re.compile(p, re.I), reason)
    for p, reason in [
        (r"virus|malware|infected", Reason.VIRUS_DETECTED),
        (
            r"pipe to \||procmail|lock failure|error while writing|ldap server"
            r"|mailer error|local delivery failed",
            Reason.SERVER_ERROR,
        ),
        (
            r"spam classification|classified as spam|detected as spam|spam detected"
            r"|duplicate header|header error|protocol violation|policy violation"
            r"|for policy reasons|because its content|content presents",
            Reason.POLICY_REJECTED,
        ),
        (
            r"ip reputation|user complaints|poor reputation"
            r"|not accepting (?:any |network )?(?:mail|messages|connections)",
            Reason.BLOCKED,
        ),
        (r"line limit exceeded|line too long", Reason.MESSAGE_TOO_LARGE),
        (
            r"frequency limited|connection frequency|receiving mail at a rate"
            r"|too many connections|rate limit",
            Reason.RATE_LIMITED,
        ),
        (
            r"authentication checks? failed|authentication information"
            r"|fails? to pass (?:spf|dkim|dmarc)",
            Reason.SENDER_AUTHENTICATION,
        ),
        (
            r"authentication required|authrequired|unauthenticated senders"
            r"|must authenticate",
            Reason.AUTHENTICATION_FAILED,
        ),
        (
            r"recipient address rejected: access denied|no valid recipients"
            r"|address couldn't be found|account that you tried to reach does not"
            r" exist",
            Reason.USER_UNKNOWN,
        ),
        (
            r"name service error|host name lookup failure|dns lookup failure"
            r"|dns (?:query|lookup) failed|host \S+ not found|domain is not reachable"
            r"|dns error|domain does not exist|invalid domain name"
            r"|(?<![@\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,} does not exist",
            Reason.HOST_UNKNOWN,
        ),
        (
            r"all hosts have been failing|still undelivered after",
            Reason.EXPIRED,
        ),
        (
            r"did not accept our requests to connect|socket error"
            r"|(?:establish|open) an smtp connection"
            r"|host not reachable|refused to talk to me",
            Reason.NETWORK_ERROR,
        ),
        (
            r"unroutable sender|\bfrom:? (?:domain|address) (?:is )?invalid"
            r"|groups\.google\.com",
            Reason.SENDER_REJECTED,
        ),
        (
            r"use the smtp server of your isp|invalid ip for sending"
            r"|unverifyable sending ip|user complaints|mismatches client ip",
            Reason.BLOCKED,
        ),
        (r"not implemented|command unrecognized", Reason.PROTOCOL_ERROR),
        (
            r"\b(?:spf|dkim|dmarc)\b|sender policy framework|unauthenticated email"
            r"|not authenticate the sender",
            Reason.SENDER_AUTHENTICATION,
        ),
        (
            r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|full)"
            r"|exceed(?:s|ed)? (?:the |his |her |its )?(?:storage|quota|mailbox)"
            r"|mailbox size limit|insufficient (?:disk )?space|disk quota"
            r"|storage (?:limit|allocation|space)|full mailbox|mailfolder is full"
            r"|not enough (?:storage|space)|mailbox has exceeded|mail ?box full"
            r"|mailbox is over|user is over|quota limit|too much mail"
            r"|mailbox exceeded",
            Reason.MAILBOX_FULL,
        ),
        (
            r"message (?:is )?too (?:large|big)|size limit|(?:message|mail) size"
            r"|exceeds? (?:the )?(?:maximum|size)|message length exceeds"
            r"|too big|message file too big",
            Reason.MESSAGE_TOO_LARGE,
        ),
        (
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited"
            r"|not allowed)|not permitted to relay|unable to relay"
            r"|we do not relay|not a gateway|relay not permitted|no relaying"
            r"|not (?:configured|allowed|permitted) to relay",
            Reason.RELAY_DENIED,
        ),
        (
            r"user unknown|unknown user|no such (?:user|mailbox|recipient"
            r"|address|account|person)|(?:user|mailbox|recipient|address"
            r"|account) (?:does not|doesn't|do not) exist|unknown recipient"
            r"|invalid recipient|recipient not found|(?:user|mailbox|address)"
            r" not found|mailbox unavailable|not a valid (?:mailbox|recipient"
            r"|user)|unknown (?:local[- ]?part|address|mailbox)|recipient unknown"
            r"|name is not recognized|addressee unknown|doesn't have an? .{1,40}"
            r" account|invalid (?:mailbox|address)|unrouteable address"
            r"|no mailbox here|not listed in|bad destination mailbox"
            r"|no such local user|mailbox not available|is not a valid"
            r"|recipient address rejected: (?:user unknown|undeliverable)"
            r"|user (?:not|is not) (?:known|listed)|address unknown"
            r"|not (?:our|a) customer|does not have an account|unknown or illegal"
            r"|invalid address|no longer valid|destination .{0,20}unknown"
            r"|does not exist",
            Reason.USER_UNKNOWN,
        ),
        (
            r"disabled|(?<!temporarily )suspended|inactive|deactivated"
            r"|account (?:is |has been )?"
            r"(?:closed|locked|expired|blocked)|no longer (?:active|in use"
            r"|available)|is not active|has been terminated|frozen"
            r"|mailbox (?:is )?(?:closed|locked)",
            Reason.MAILBOX_DISABLED,
        ),
        (
            r"host (?:or domain name )?not found|host unknown|unknown host"
            r"|domain (?:not found|does not exist|is not found)|no mx"
            r"|no such domain|name or service not known|nxdomain|unknown domain"
            r"|null mx|does not accept (?:any )?mail|host not reachable"
            r"|domain (?:name )?(?:lookup|resolution) failed|unrouteable mail domain"
            r"|mail for .{1,60} loops back|no (?:valid )?(?:dns|mx) record",
            Reason.HOST_UNKNOWN,
        ),
        (
            r"reverse (?:dns|lookup)|\bptr\b|rdns|black ?list|block ?list"
            r"|blocked|spamhaus|spamcop|\brbl\b|dnsbl|reputation"
            r"|listed (?:at|on|in)|client host .{0,60}rejected|banned"
            r"|your (?:ip|host|server|network)|access denied|sender ip"
            r"|not allowed to send|connection refused by",
            Reason.BLOCKED,
        ),
        (
            r"too many (?:connections|messages|recipients|emails|mails)"
            r"|rate limit|throttl|sending rate|too fast|exceeded .{0,30}limit"
            r"|limit exceeded|try again later|frequency",
            Reason.RATE_LIMITED,
        ),
        (
            r"sender (?:address )?(?:rejected|denied|invalid|unknown|verify)"
            r"|domain of sender|sender verification|bad sender|sender domain"
            r"|envelope sender|sender is not allowed|mail from|return path"
            r"|not (?:a )?member|not authorized to post|permission to post"
            r"|sender .{0,40}(?:rejected|not allowed|refused)",
            Reason.SENDER_REJECTED,
        ),
        (
            r"retry time(?:out)? (?:not reached|exceeded)|expired|cannot send"
            r"|in the queue too long"
            r" message for|could not be delivered (?:with)?in|too long in (?:the )?"
            r"queue|maximum time|retry period|delivery (?:has )?(?:failed )?"
            r"(?:for|after) \d+|giving up",
            Reason.EXPIRED,
        ),
        (
            r"starttls|\btls\b|ssl|certificate",
            Reason.TLS_FAILED,
        ),
        (
            r"timed? ?out|connection (?:refused|reset|lost|closed)|unreachable"
            r"|no route to host|could not connect|unable to connect"
            r"|lost connection|network (?:is )?(?:unreachable|error|failure)",
            Reason.NETWORK_ERROR,
        ),
        (
            r"syntax|malformed|bad address|invalid (?:address )?format",
            Reason.BAD_ADDRESS,
        ),
        (
            r"system error|internal (?:server )?error|local error|i/o error"
            r"|server error|temporary (?:local )?problem|mail system full"
            r"|system (?:is )?full|out of (?:memory|disk)",
            Reason.SERVER_ERROR,
        ),
        (
            r"service (?:currently )?unavailable|service not available"
            r"|try (?:again )?later",
            Reason.SERVER_BUSY,
        ),
    ]
]

# Broad words that only say "refused": weaker than a specific status code.
_WEAK_RULES: list[tuple[re.Pattern[str], Reason]] = [
    (
        re.compile(
            r"spam|junk|content|policy|rejected by|filter|bulk|unsolicited"
            r"|prohibited|forbidden|refused|not accepted|denied|rejected"
            r"|not allowed",
            re.I,
        ),
        Reason.POLICY_REJECTED,
    )
]

# Status codes too broad to outrank the weak words above.
_GENERIC_STATUS = {"0.0", "5.0", "7.0", "7.1", "4.0"}

# RFC 3463 subject.detail -> reason; the class digit is read separately.
_STATUS_REASONS: dict[str, Reason] = {
    "1.0": Reason.USER_UNKNOWN,
    "1.1": Reason.USER_UNKNOWN,
    "1.2": Reason.HOST_UNKNOWN,
    "1.3": Reason.BAD_ADDRESS,
    "1.4": Reason.USER_UNKNOWN,
    "1.6": Reason.USER_UNKNOWN,
    "1.7": Reason.SENDER_REJECTED,
    "1.8": Reason.SENDER_REJECTED,
    "1.10": Reason.HOST_UNKNOWN,
    "2.1": Reason.MAILBOX_DISABLED,
    "2.2": Reason.MAILBOX_FULL,
    "2.3": Reason.MESSAGE_TOO_LARGE,
    "2.4": Reason.SERVER_ERROR,
    "3.0": Reason.SERVER_ERROR,
    "3.1": Reason.SERVER_ERROR,
    "3.2": Reason.SERVER_BUSY,
    "3.3": Reason.NOT_SUPPORTED,
    "3.4": Reason.MESSAGE_TOO_LARGE,
    "3.5": Reason.SERVER_ERROR,
    "4.0": Reason.NETWORK_ERROR,
    "4.1": Reason.NETWORK_ERROR,
    "4.2": Reason.CONNECTION_LOST,
    "4.3": Reason.HOST_UNKNOWN,
    "4.4": Reason.HOST_UNKNOWN,
    "4.5": Reason.SERVER_BUSY,
    "4.6": Reason.NETWORK_ERROR,
    "4.7": Reason.EXPIRED,
    "5.0": Reason.PROTOCOL_ERROR,
    "5.1": Reason.PROTOCOL_ERROR,
    "5.2": Reason.PROTOCOL_ERROR,
    "5.3": Reason.RATE_LIMITED,
    "5.4": Reason.PROTOCOL_ERROR,
    "6.0": Reason.POLICY_REJECTED,
    "7.0": Reason.POLICY_REJECTED,
    "7.1": Reason.POLICY_REJECTED,
    "7.7": Reason.POLICY_REJECTED,
    "7.8": Reason.AUTHENTICATION_FAILED,
    "7.9": Reason.AUTH_MECHANISM,
    "7.10": Reason.TLS_REQUIRED,
    "7.11": Reason.TLS_REQUIRED,
    "7.13": Reason.MAILBOX_DISABLED,
    "7.17": Reason.MAILBOX_DISABLED,
    "7.18": Reason.MAILBOX_DISABLED,
    "7.23": Reason.SENDER_AUTHENTICATION,
    "7.24": Reason.SENDER_AUTHENTICATION,
    "7.25": Reason.BLOCKED,
    "7.26": Reason.SENDER_AUTHENTICATION,
    "7.27": Reason.HOST_UNKNOWN,
}


def reason_from_text(text: str) -> Reason | None:
    """Return the reason that bounce wording names, or None."""
    for pattern, reason in _RULES:
        if pattern.search(text):
            return reason
    return None


def reason_from_weak_text(text: str) -> Reason | None:
    """Return the reason that only broad refusal words suggest, or None."""
    for pattern, reason in _WEAK_RULES:
        if pattern.search(text):
            return reason
    return None


def is_specific_status(status: str | None) -> bool:
    """Tell whether a status code names a cause rather than a refusal."""
    return status is not None and status.split(".", 1)[-1] not in _GENERIC_STATUS


def names_sender(status: str | None) -> bool:
    """Tell whether a status code is about the sender's address (X.1.7/8)."""
    return status is not None and status.split(".", 1)[-1] in ("1.7", "1.8")


def reason_from_status(status: str | None) -> Reason | None:
    """Return the reason an RFC 3463 status code stands for, or None."""
    if not status or status.count(".") != 2:
        return None
    klass, rest = status.split(".", 1)
    if klass == "2":
        return Reason.NOTICE
    reason = _STATUS_REASONS.get(rest)
    if reason is None and rest.startswith("6."):
        reason = Reason.POLICY_REJECTED
    return reason
