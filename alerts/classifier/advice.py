"""Corrective actions, addressed to whoever must act on a failure."""

from __future__ import annotations

from .reasons import Reason
from .types import Persistence, Scope

R = Reason

ADDRESSEE: dict[Scope, str] = {
    Scope.EMAIL: "Sender of the email",
    Scope.MAILBOX: "Mailbox owner",
    Scope.PROFILE: "Server profile owner",
}

SCOPE_PHRASE: dict[Scope, str] = {
    Scope.EMAIL: "this one email",
    Scope.MAILBOX: "this mailbox",
    Scope.PROFILE: "the server profile",
}

ACTIONS: dict[Reason, str] = {
    R.USER_UNKNOWN: "check the recipient address for typos or remove it; that"
    " mailbox does not exist",
    R.MAILBOX_FULL: "ask the mailbox's owner to free space or raise its quota",
    R.MAILBOX_DISABLED: "check that the account is active and licensed, or stop"
    " using this address",
    R.BAD_ADDRESS: "correct the address syntax",
    R.HOST_UNKNOWN: "check the host name (or the recipient's domain) for typos"
    " and that its DNS records exist",
    R.CONNECTION_REFUSED: "check the host and port in the profile and that the"
    " server is running",
    R.CONNECTION_LOST: "check the network path and the server's connection limits",
    R.TIMEOUT: "check that the host and port are right and that no firewall"
    " blocks the port",
    R.NETWORK_ERROR: "check the network route from the workers to the server",
    R.TLS_FAILED: "check the profile's encryption setting (SSL/TLS or STARTTLS)"
    " and port against what the server offers",
    R.CERTIFICATE_INVALID: "have the server's certificate renewed or fixed, or"
    " check the host name in the profile matches the certificate",
    R.TLS_REQUIRED: "turn on STARTTLS or SSL/TLS in the profile",
    R.AUTHENTICATION_FAILED: "check the user name and password (or app password"
    " or OAuth consent) and save them again",
    R.AUTH_MECHANISM: "switch the profile to an authentication method the server"
    " accepts (for example OAuth)",
    R.AUTHORIZATION_FAILED: "grant the account the rights it needs on this mailbox",
    R.PASSWORD_EXPIRED: "set a new password with the provider and save it here",
    R.PERMISSION_DENIED: "grant the account access to the folder or choose another one",
    R.SENDER_REJECTED: "send with an address this mailbox is allowed to use, or"
    " verify it with the provider",
    R.RELAY_DENIED: "authenticate to the server or have it allow relaying for"
    " this sender (for a bounce: the recipient's domain must fix its mail"
    " routing)",
    R.BLOCKED: "get the sending IP or domain removed from the block list, or"
    " send through another relay",
    R.SENDER_AUTHENTICATION: "fix the sending domain's SPF, DKIM and DMARC"
    " records so they cover this server",
    R.POLICY_REJECTED: "review the content or ask the recipient's administrator"
    " to accept it",
    R.VIRUS_DETECTED: "remove the infected attachment and send again",
    R.MESSAGE_TOO_LARGE: "send a smaller message (link large files instead of"
    " attaching them)",
    R.RATE_LIMITED: "send more slowly or in smaller batches",
    R.QUOTA_EXCEEDED: "wait for the sending quota to reset or ask the provider"
    " for a higher one",
    R.GREYLISTED: "nothing; the next attempt is normally accepted",
    R.SERVER_BUSY: "nothing; the server should accept a later attempt",
    R.SERVER_ERROR: "report it to the server's administrator if it continues",
    R.MAILBOX_IN_USE: "close other sessions on this mailbox",
    R.EXPIRED: "check the recipient's domain and send again if still needed",
    R.PROTOCOL_ERROR: "check the profile's port and protocol settings",
    R.NOT_SUPPORTED: "choose settings the server supports",
    R.CONFIGURATION: "correct the setting named in the message",
    R.SYNC_PROMPT: "decide how the sync engine should proceed",
    R.NOTICE: "nothing",
    R.UNKNOWN: "read the server's message; if it repeats, report it to the"
    " server's administrator",
}


def action_for(reason: Reason, scope: Scope, persistence: Persistence) -> str:
    """Return the corrective action sentence for a decision."""
    what = ACTIONS.get(reason, ACTIONS[R.UNKNOWN])
    if persistence is Persistence.TRANSIENT and not what.startswith("nothing"):
        what = f"nothing now, it may clear by itself; if it keeps happening, {what}"
    return f"{ADDRESSEE[scope]}: {what}."
