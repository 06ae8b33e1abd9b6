"""What servers, providers and client libraries say when codes are missing.

Each rule is tried only when one of its anchor words occurs in the text (one
set intersection instead of dozens of regex scans), then confirmed by its
pattern on the lower-cased text. The first rule in table order wins, so the
more telling wording (a TLS failure reported as a login error, a block list
behind a 5.7.1) comes first. Every rule carries an example that its own tests
feed back to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from .reasons import Reason
from .types import Persistence, Scope

R = Reason
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE
P, T = Persistence.PERMANENT, Persistence.TRANSIENT

SMTP, IMAP, POP3, EWS = "smtp", "imap", "pop3", "ews"
NET, DSN, OTHER = "net", "dsn", "other"


class Branch(NamedTuple):
    """One alternative of a rule's pattern, with what must precede a search."""

    prefix: str
    regex: re.Pattern[str]
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """Describe one recognisable wording and what it tells."""

    name: str
    anchors: tuple[str, ...]
    regex: re.Pattern[str]
    branches: tuple[Branch, ...]
    reason: Reason
    says: str
    example: str
    scope: Scope | None = None
    persistence: Persistence | None = None
    dsn_scope: Scope | None = None
    families: frozenset[str] | None = None
    generic: bool = False


def _split(pattern: str) -> list[str]:
    """Return the top-level alternatives of a regular expression."""
    branches: list[str] = []
    depth, start, index, in_class = 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:index])
            start = index + 1
        index += 1
    branches.append(pattern[start:])
    return branches


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 -:,'_/;=\"<>")


def _literal_prefix(branch: str) -> str:
    """Return the literal text every match of a branch starts with."""
    prefix: list[str] = []
    index = 2 if branch.startswith("\\b") else 0
    while index < len(branch):
        char = branch[index]
        if char == "\\" and index + 1 < len(branch) and not branch[index + 1].isalnum():
            char, step = branch[index + 1], 2
        elif char in _PLAIN:
            step = 1
        else:
            break
        if branch[index + step : index + step + 1] in ("?", "*", "{"):
            break
        prefix.append(char)
        index += step
    return "".join(prefix)


def _rule(
    name: str,
    anchors: str,
    pattern: str,
    reason: Reason,
    says: str,
    example: str,
    scope: Scope | None = None,
    persistence: Persistence | None = None,
    dsn_scope: Scope | None = None,
    families: tuple[str, ...] | None = None,
    generic: bool = False,
) -> Rule:
    explicit = tuple(anchors.split())
    branches = []
    for source in _split(pattern):
        prefix = _literal_prefix(source)
        # A branch whose literal start holds a whole word is tried only when
        # that word is present; the others fall back to the rule's anchors.
        first = re.match(r"[a-z0-9]+(?=[^a-z0-9])", prefix)
        own = (first.group(),) if first is not None else explicit
        branches.append(Branch(prefix, re.compile(source), own))
    return Rule(
        name=name,
        anchors=tuple(sorted({word for branch in branches for word in branch.anchors})),
        regex=re.compile(pattern),
        branches=tuple(branches),
        generic=generic,
        reason=reason,
        says=says,
        example=example,
        scope=scope,
        persistence=persistence,
        dsn_scope=dsn_scope,
        families=frozenset(families) if families else None,
    )


RULES: tuple[Rule, ...] = (
    # A recipient's DNSBL that is queried through a public resolver answers
    # "open resolver": the recipient's server is broken, not our IP.
    _rule(
        "spamhaus_open_resolver",
        "resolver",
        r"open resolver|public resolver",
        R.SERVER_ERROR,
        "the recipient's block-list lookups fail (open resolver), so only that"
        " destination is affected",
        "blocked using zen.spamhaus.org; Error: open resolver",
        scope=EMAIL,
        dsn_scope=EMAIL,
    ),
    # TLS and certificates: they explain many "login failed" follow-ups.
    _rule(
        "certificate_expired",
        "expired cert certificate",
        r"cert(?:ificate)?[ _]has[ _]expired|certificate (?:is )?expired",
        R.CERTIFICATE_INVALID,
        "the server's certificate has expired",
        "Error: certificate has expired code: 'CERT_HAS_EXPIRED'",
        scope=PROFILE,
    ),
    _rule(
        "certificate_verify_failed",
        "certificate verify self signed hostname pkix altname remote leaf issuer"
        " certificateerror sslcertverificationerror",
        r"certificate[ _]verify[ _]failed|self[ -_]signed[ _]cert|"
        r"hostname mismatch|doesn't match|does not match (?:any|the)|"
        r"pkix path|cert_altname_invalid|remote certificate is invalid|"
        r"unable[ _]to[ _](?:verify[ _]leaf|get[ _]issuer)|"
        r"certificate (?:is )?not trusted|certificateerror|sslcertverificationerror",
        R.CERTIFICATE_INVALID,
        "the server's certificate does not verify",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        scope=PROFILE,
    ),
    _rule(
        "tls_handshake_failed",
        "ssl tls handshake sslv3 dh wrong version negotiation secure channel"
        " sslhandshakeexception eproto starttls stls cipher",
        r"handshake[ _]failure|handshake failed|dh[ _]key[ _]too[ _]small|"
        r"wrong[ _]version[ _]number|unsupported[ _]protocol|no[ _]ciphers?|"
        r"(?:tls|ssl)(?:/ssl)? (?:negotiation|failure)|ssl negotiation failed|"
        r"(?:establish\w*|creat\w*|negotiat\w*) (?:a |the )?secure (?:connection|"
        r"channel)|secure channel (?:failure|error)|sslhandshakeexception|\beproto\b|"
        r"(?:upgrade to tls|starttls(?: upgrade)?|stls) failed|"
        r"tlsv1[_ ]alert|\[ssl[:\]]|sslerror",
        R.TLS_FAILED,
        "the TLS negotiation with the server failed",
        "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure",
        scope=PROFILE,
    ),
    _rule(
        "tls_required",
        "starttls tls ssl encryption secure plaintext privacyrequired",
        r"must issue a starttls|starttls (?:is )?required|"
        r"(?:tls|ssl|encryption) (?:is )?required|requires? a secure connection|"
        r"plaintext auth\w* (?:is )?(?:disallowed|not allowed)|privacyrequired|"
        r"encryption needed",
        R.TLS_REQUIRED,
        "the server insists on an encrypted connection first",
        "530 5.7.0 Must issue a STARTTLS command first.",
        scope=PROFILE,
        persistence=P,
    ),
    # Name resolution.
    _rule(
        "dns_temporary",
        "temporary eai again try",
        r"temporary failure in name resolution|eai_again|"
        r"try_again|non-authoritative host not found",
        R.HOST_UNKNOWN,
        "the name server could not answer for now",
        "[Errno -3] Temporary failure in name resolution",
        persistence=T,
    ),
    _rule(
        "dns_not_found",
        "name nodename host hostnotfound enotfound getaddrinfo address resolve"
        " unknownhostexception servname",
        r"name or service not known|nodename nor servname|no address associated|"
        r"enotfound|hostnotfound|host not found|no such host|unknownhostexception|"
        r"could not resolve|cannot resolve|unable to resolve|"
        r"getaddrinfo failed|host unknown|unknown host",
        R.HOST_UNKNOWN,
        "the host name does not resolve",
        "socket.gaierror: [Errno -2] Name or service not known",
    ),
    # Sender authentication and reputation concern the sending profile.
    _rule(
        "sender_authentication",
        "spf dkim dmarc unauthenticated arc",
        r"\bspf\b|\bdkim\b|\bdmarc\b|this mail is unauthenticated|"
        r"\barc (?:validation|check)",
        R.SENDER_AUTHENTICATION,
        "SPF, DKIM or DMARC checks of the sending domain fail",
        "550 5.7.1 [BFD] Sender prohibited by SPF",
        scope=PROFILE,
        dsn_scope=PROFILE,
    ),
    _rule(
        "block_list",
        "spamhaus spamcop sorbs barracuda blacklist blacklisted blocklist"
        " blocklisted block black rbl dnsbl s3140 reputation unsolicited listed"
        " banned bl21 bl23 rdns ptr reverse hostname",
        r"spamhaus|spamcop|sorbs|barracuda|black ?list|block ?list|\brbl\b|"
        r"dnsbl|\bs3140\b|reputation|unsolicited mail originating from your ip|"
        r"blocked using|listed (?:at|on|in) |\[bl2\d\]|ip (?:address )?(?:is )?banned|"
        r"banned sending ip|"
        r"(?:reverse dns|rdns|ptr record)|cannot find your (?:reverse )?hostname",
        R.BLOCKED,
        "the sending server's IP or domain is on a block list",
        "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using"
        " bl.spamcop.net",
        scope=PROFILE,
        dsn_scope=PROFILE,
    ),
    _rule(
        "relay_denied",
        "relay relaying",
        r"relay(?:ing)? (?:access )?(?:is )?(?:denied|not permitted|not allowed|"
        r"prohibited)|unable to relay|not permitted to relay|we do not relay|"
        r"relay access denied|relaying not allowed",
        R.RELAY_DENIED,
        "the server refuses to relay for this client",
        "554 5.7.1 <a@example.com>: Relay access denied",
        scope=PROFILE,
        persistence=P,
        dsn_scope=EMAIL,
    ),
    _rule(
        "authentication_required",
        "authenticated authentication authenticate anonymous logged",
        r"(?:client|sender|you) (?:was|were|are|is) not authenticated|"
        r"authentication (?:is )?required|must (?:first )?authenticate|"
        r"not logged in|anonymous mail",
        R.AUTHENTICATION_FAILED,
        "the server wants authentication that the profile does not give",
        "5.7.1 Client was not authenticated",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "auth_mechanism_disabled",
        "basic basicauthblocked smtpclientauthentication mechanism mechanisms"
        " auth unrecognized suitable",
        r"basic auth(?:entication)? (?:is )?(?:disabled|blocked|not supported)|"
        r"basicauthblocked|smtpclientauthentication is disabled for the tenant|"
        r"no suitable authentication|unrecognized authentication type|"
        r"auth(?:entication)? mechanism (?:is )?(?:not|un)|"
        r"smtp auth extension not supported|no (?:supported )?auth(?:entication)? "
        r"mechanisms?",
        R.AUTH_MECHANISM,
        "the server does not accept the authentication method of the profile",
        "a1 NO Basic authentication is disabled.",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "smtp_auth_disabled_mailbox",
        "smtpclientauthentication imap pop pop3 enabled",
        r"smtpclientauthentication is disabled for the mailbox|"
        r"(?:imap|pop3?) (?:access )?(?:is )?(?:disabled|not enabled)|"
        r"not enabled for (?:imap|pop3?)",
        R.CONFIGURATION,
        "protocol access is switched off for this mailbox",
        "[ALERT] Your account is not enabled for IMAP use.",
        scope=MAILBOX,
        persistence=P,
    ),
    _rule(
        "profile_credentials",
        "profile",
        r"credentials specified in the (?:associated )?email server profile",
        R.AUTHENTICATION_FAILED,
        "the credentials stored in the server profile are refused",
        "the credentials specified in the associated email server profile are"
        " incorrect",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "account_abuse",
        "abuse suspended locked blocked disabled inactive deactivated",
        r"service abuse mode|account (?:has been |is |was )?"
        r"(?:suspended|locked|blocked|disabled|deactivated|inactive)|"
        r"user account (?:is )?disabled|"
        r"(?:email )?account (?:that )?you tried to reach is (?:disabled|inactive)",
        R.MAILBOX_DISABLED,
        "the account is disabled or blocked by its provider",
        "AADSTS70000: User account is found to be in service abuse mode.",
    ),
    _rule(
        "login_rate",
        "many",
        r"too many (?:failed )?(?:login|logon|auth\w*|sign-?in)s?"
        r"(?: attempts| failures)?",
        R.RATE_LIMITED,
        "the provider throttles logins for this account",
        "454 4.7.0 Too many login attempts, please try again later.",
        scope=MAILBOX,
        persistence=T,
    ),
    _rule(
        "password_expired",
        "password expired",
        r"password (?:has )?expired|expired password|password change required|"
        r"must change (?:your )?password",
        R.PASSWORD_EXPIRED,
        "the mailbox password has expired",
        "NO [EXPIRED] Password has expired",
        scope=MAILBOX,
        persistence=P,
    ),
    _rule(
        "provider_login_blocked",
        "application specific web browser weblogin webalert invalidsecondfactor app",
        r"application-specific password|app password|log ?in (?:with|via) your web"
        r" browser|web ?login required|weblogin|webalert|invalidsecondfactor",
        R.AUTHENTICATION_FAILED,
        "the provider wants an app password or a web sign-in for this account",
        "534 5.7.9 Application-specific password required.",
        scope=MAILBOX,
    ),
    _rule(
        "oauth_grant",
        "invalid grant aadsts unauthorized client consent token",
        r"invalid_grant|invalid_client|unauthorized_client|aadsts\d+|"
        r"consent_required|interaction_required|token (?:has )?expired|"
        r"invalid (?:access )?token",
        R.AUTHENTICATION_FAILED,
        "the OAuth token of the account is refused",
        'XOAUTH2 authentication failed: {"error": "invalid_grant"}',
        scope=MAILBOX,
    ),
    _rule(
        "credentials_rejected",
        "authentication authenticationfailed authenticationfailedexception"
        " credentials login logon password username unauthorized incorrect"
        " invalid auth sasl",
        r"authentication (?:failed|unsuccessful|failure|error)|"
        r"authenticationfailed|auth(?:entication)? credentials invalid|"
        r"invalid (?:user ?name|login|credentials|password|user)|"
        r"username and password not accepted|incorrect (?:authentication|password|"
        r"username|login)|login (?:failed|incorrect|denied)|logon failure|"
        r"bad (?:credentials|password)|auth (?:login )?failed|"
        r"\(401\) unauthorized|401 unauthorized|"
        r"sasl (?:\w+ )?authentication failed|wrong password",
        R.AUTHENTICATION_FAILED,
        "the server rejects the user name or password",
        "535 5.7.8 Username and Password not accepted.",
        scope=MAILBOX,
    ),
    # Sender identity of the mailbox.
    _rule(
        "send_as_denied",
        "sendasdenied sendasdeniedexception mapiexceptionsendasdenied send"
        " owned verified identities",
        r"sendasdenied|not allowed to send as|send ?as (?:permission )?denied|"
        r"not owned by (?:the )?user|email address is not verified|"
        r"identities failed the check|sender not verified|sender verify failed",
        R.SENDER_REJECTED,
        "the server will not let this mailbox send with this sender address",
        "554 Message rejected: Email address is not verified.",
        scope=MAILBOX,
    ),
    _rule(
        "sender_rejected",
        "sender",
        r"sender (?:address )?(?:rejected|refused|denied|not allowed)",
        R.SENDER_REJECTED,
        "the server refuses the sender address",
        "450 4.1.8 <a@example.com>: Sender address rejected: Domain not found",
        scope=MAILBOX,
    ),
    # Sending quotas of a whole service account (Amazon SES and the like).
    _rule(
        "service_quota",
        "throttling maximum daily sending paused suspended",
        r"throttling failure|maximum sending rate exceeded|daily message quota|"
        r"sending (?:has been )?(?:paused|suspended) for (?:this|your) account",
        R.QUOTA_EXCEEDED,
        "the sending service's account quota is used up",
        "454 Throttling failure: Daily message quota exceeded.",
        scope=PROFILE,
        persistence=T,
    ),
    _rule(
        "user_sending_quota",
        "daily sending limit quota exceeded",
        r"daily (?:user )?sending (?:quota|limit)|sending (?:quota|limit) exceeded|"
        r"message limit (?:exceeded|reached)|daily limit",
        R.QUOTA_EXCEEDED,
        "the account reached its sending quota",
        "550 5.4.5 Daily user sending quota exceeded.",
        scope=MAILBOX,
        persistence=T,
    ),
    _rule(
        "recipient_rate",
        "rate quickly",
        r"receiving mail (?:at a rate|too quickly)|receiving mail at a rate",
        R.RATE_LIMITED,
        "the recipient gets more mail than their provider accepts now",
        "450-4.2.1 The user you are trying to contact is receiving mail at a rate",
        scope=EMAIL,
        persistence=T,
    ),
    _rule(
        "yahoo_volume",
        "volume complaints tss04 ts03 tsm",
        r"unexpected volume or user complaints|\[tss?0\d\]|\[tsm\]",
        R.RATE_LIMITED,
        "the provider defers mail from this sender for volume or complaints",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to"
        " unexpected volume or user complaints",
        scope=PROFILE,
        persistence=T,
    ),
    _rule(
        "connection_limit_host",
        "connections",
        r"too many (?:simultaneous |concurrent )?connections from your (?:host|ip)",
        R.RATE_LIMITED,
        "the server limits connections from this client",
        "421 4.7.0 Too many connections from your host",
        scope=PROFILE,
        persistence=T,
    ),
    _rule(
        "account_throttled",
        "many fast throttled throttling throttle applicationthrottled"
        " mailboxconcurrency bandwidth ratelimiterror rate limit limits"
        " seconds minutes backoff concurrent simultaneous",
        r"too many (?:\w+ ){0,2}(?:attempts|commands|requests|errors|emails|"
        r"messages|mails|connections)|too fast|rate ?limit|throttl|"
        r"mailboxconcurrency|bandwidth limit|exceeded command or bandwidth|"
        r"try again in \d+ ?(?:s\b|sec|second|minute|min)|back ?off|"
        r"(?:simultaneous|concurrent) connections|ratelimiterror",
        R.RATE_LIMITED,
        "the server throttles this account",
        "450 Too many recipient attempts",
        persistence=T,
    ),
    _rule(
        "greylisted",
        "greylisted greylisting greylist graylisted graylisting graylist grey gray"
        " postgrey",
        r"gr[ae]y-?list|postgrey",
        R.GREYLISTED,
        "the recipient's server greylists first attempts",
        "450 4.2.0 <a@example.com>: Recipient address rejected: Greylisted",
        persistence=T,
    ),
    # Mailbox contents.
    _rule(
        "mailbox_full",
        "full quota overquota quotaexceeded quotaexceededexception storage"
        " insufficient space errorquotaexceeded",
        r"mailbox (?:is )?full|inbox (?:is )?full|over ?quota|quota exceeded|"
        r"exceeded (?:its |the )?(?:storage|quota)|storage (?:limit|quota)|"
        r"quotaexceeded|insufficient (?:storage|space)|mailbox size limit|"
        r"not enough (?:storage|space)|out of (?:storage|space)",
        R.MAILBOX_FULL,
        "the mailbox is over its storage quota",
        "552 5.2.2 <a@example.com>: Recipient address rejected: User over quota",
    ),
    _rule(
        "message_too_large",
        "size large big limit maxsizeerror errormessagesizeexceeded toobig"
        " entity exceeds",
        r"size (?:limit|exceed)|(?:message|mail|file|literal) (?:is )?too (?:big|"
        r"large)|exceeds? (?:the )?(?:maximum|max)(?: message)? size|"
        r"maxsizeerror|messagesizeexceeded|command line limit|line too long|"
        r"request entity too large|message exceeds maximum|"
        r"exceeded (?:\w+ )?(?:message )?size",
        R.MESSAGE_TOO_LARGE,
        "the message is larger than the server accepts",
        "552 5.3.4 Error: message file too big",
        scope=EMAIL,
        persistence=P,
    ),
    # Recipients.
    _rule(
        "recipient_unknown_access_denied",
        "recipient",
        r"recipient address rejected: access denied",
        R.USER_UNKNOWN,
        "the recipient is not in the destination's directory (edge blocking)",
        "550 5.4.1 Recipient address rejected: Access denied.",
        scope=EMAIL,
        persistence=P,
    ),
    _rule(
        "user_unknown",
        "user unknown recipient recipients mailbox mailboxes exist unrouteable"
        " errornonexistentmailbox address account invalid",
        r"user (?:unknown|not found|doesn't exist|does not exist)|"
        r"unknown (?:user|recipient|mailbox|local part)|no such (?:user|mailbox|"
        r"recipient|address)|(?:recipient|mailbox|address) (?:not found|unknown|"
        r"does not exist|doesn't exist)|invalid (?:recipient|mailbox)|"
        r"unrouteable address|errornonexistentmailbox|has no mailbox associated|"
        r"account (?:that )?you tried to reach does not exist|"
        r"recipient (?:rejected|invalid)|"
        r"doesn't have an? [\w.]+ account|no mailbox here",
        R.USER_UNKNOWN,
        "the destination mailbox does not exist",
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown",
    ),
    _rule(
        "virus",
        "virus malware infected",
        r"virus|malware|infected",
        R.VIRUS_DETECTED,
        "the message was found to carry malware",
        "554 5.7.1 Message rejected: virus found",
        scope=EMAIL,
    ),
    _rule(
        "spam_content",
        "spam unsolicited content suspicious phishing junk",
        r"spam|likely unsolicited|content (?:rejected|filter)|suspicious|phishing",
        R.POLICY_REJECTED,
        "the recipient's filter judged the message as spam",
        "550 5.7.1 Message rejected as spam by Content Filtering.",
        scope=EMAIL,
    ),
    _rule(
        "destination_rejected",
        "rejected",
        r"rejected by (?:the )?(?:destination|recipient)(?: domain| server)?",
        R.POLICY_REJECTED,
        "the destination refused the message",
        "541 5.4.1 Mail rejected by destination domain",
        scope=EMAIL,
    ),
    # Microsoft Exchange, EWS, Graph and Dynamics 365 server-side sync.
    _rule(
        "d365_approval",
        "approval approved",
        r"requires? an approval|not (?:been )?approved",
        R.CONFIGURATION,
        "the mailbox's address is not approved by an administrator",
        "the email address of the mailbox requires an approval by an Microsoft 365"
        " administrator",
        scope=MAILBOX,
        persistence=P,
    ),
    _rule(
        "mailbox_location",
        "location autodiscover errorautodiscoverfailed",
        r"mailbox location could not be determined|autodiscover",
        R.CONFIGURATION,
        "the mailbox location (autodiscover or service URL) cannot be found",
        "The mailbox location could not be determined",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "server_location_wrong",
        "location port",
        r"server location or the (?:incoming|outgoing) email port",
        R.HOST_UNKNOWN,
        "the server location or port in the profile is wrong",
        "the email server location or the incoming email port specified in the"
        " associated email server profile is incorrect",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "mailbox_not_licensed",
        "license errorinvalidlicense mailboxnotenabledforrestapi"
        " errormailboxnotenabled",
        r"license is invalid|invalid ?license|no license|mailboxnotenabledforrestapi|"
        r"mailbox (?:is )?(?:not enabled|inactive|soft-deleted)",
        R.MAILBOX_DISABLED,
        "the mailbox is not licensed or not enabled for this access",
        "Email Server Error Code: ErrorInvalidLicense",
        scope=MAILBOX,
        persistence=P,
    ),
    _rule(
        "impersonation_denied",
        "errorimpersonateuserdenied errorimpersonationdenied impersonation impersonate",
        r"impersonat",
        R.AUTHORIZATION_FAILED,
        "the service account may not impersonate this mailbox",
        "ErrorImpersonateUserDenied",
        scope=PROFILE,
        persistence=P,
    ),
    _rule(
        "access_denied",
        "access erroraccessdenied forbidden noperm",
        r"access is denied|erroraccessdenied|\(403\) forbidden|403 forbidden|"
        r"authenticated but not connected",
        R.AUTHORIZATION_FAILED,
        "the account is not allowed to access this mailbox",
        "ServiceResponseException: Access is denied. Check credentials and try again.",
        scope=MAILBOX,
        persistence=P,
        families=(EWS, IMAP, POP3, OTHER),
    ),
    _rule(
        "d365_incoming_integration",
        "unknownincomingemailintegrationerror",
        r"unknownincomingemailintegrationerror",
        R.CONFIGURATION,
        "Dynamics 365 cannot process this mailbox's incoming email (owner or"
        " security role setup)",
        "Exchange server returned UnknownIncomingEmailIntegrationError exception.",
        scope=MAILBOX,
        persistence=P,
    ),
    _rule(
        "mailbox_stale",
        "mailboxinfostale errormailboxmoveinprogress errormailboxstoreunavailable"
        " store",
        r"mailboxinfostale|mailboxmoveinprogress|mailboxstoreunavailable|"
        r"mailbox store (?:is )?unavailable",
        R.SERVER_BUSY,
        "the mailbox's store is unavailable or moving for now",
        "Exchange server returned ErrorMailboxStoreUnavailable exception.",
        scope=MAILBOX,
        persistence=T,
    ),
    _rule(
        "protocol_mismatch",
        "unrecognized unrecognised recognized syntax command",
        r"command (?:unrecognized|unrecognised|not recognized)|"
        r"unrecogni[sz]ed command|syntax error, command",
        R.PROTOCOL_ERROR,
        "the server does not understand our commands (wrong port or protocol)",
        "System.Net.Mail.SmtpException: Syntax error, command unrecognized.",
        scope=PROFILE,
        persistence=P,
    ),
    # fetchmail's own notice when a known-good login fails.
    _rule(
        "fetchmail_busy",
        "authorization",
        r"already succeeded in getting authorization",
        R.SERVER_BUSY,
        "fetchmail cannot tell a busy server from a refused login that worked before",
        "Since we have already succeeded in getting authorization for this"
        " connection, this is probably another failure mode",
        scope=MAILBOX,
        persistence=T,
    ),
    # Network.
    _rule(
        "connection_refused",
        "refused econnrefused connectexception",
        r"connection refused|econnrefused|actively refused|refused the connection|"
        r"connectexception",
        R.CONNECTION_REFUSED,
        "the server's port refuses connections",
        "[Errno 111] Connection refused",
    ),
    _rule(
        "network_unreachable",
        "unreachable enetunreach ehostunreach route",
        r"network is unreachable|no route to host|enetunreach|ehostunreach|"
        r"host is unreachable|unreachable network",
        R.NETWORK_ERROR,
        "there is no network route to the server",
        "[Errno 101] Network is unreachable",
    ),
    _rule(
        "timed_out",
        "timed timeout etimedout sockettimeoutexception timeouterror",
        r"timed out|time(?:d)? ?out|etimedout|sockettimeoutexception",
        R.TIMEOUT,
        "the server did not answer in time",
        "connect ETIMEDOUT 192.0.2.50:465",
    ),
    _rule(
        "connection_lost",
        "reset econnreset closed forcibly broken pipe epipe eof disconnected"
        " aborted terminated unexpectedly transport",
        r"connection (?:was )?(?:reset|closed|aborted|lost|terminated)|econnreset|"
        r"forcibly closed|broken pipe|\bepipe\b|unexpected(?:ly)? (?:eof|closed)|"
        r"\beof\b|disconnected|read data from the transport connection|"
        r"server not connected|connection unexpectedly",
        R.CONNECTION_LOST,
        "the connection broke off",
        "ConnectionResetError: [WinError 10054] An existing connection was"
        " forcibly closed by the remote host",
    ),
    # Busy or failing servers.
    _rule(
        "server_busy",
        "busy overloaded load unavailable errorserverbusy later backoff temporarily",
        r"errorserverbusy|server (?:is )?(?:too )?busy|overloaded|high load|"
        r"(?:service|server) (?:is )?(?:temporarily )?unavailable|"
        r"temporarily (?:unavailable|deferred)|try (?:again )?later|"
        r"system (?:is )?busy",
        R.SERVER_BUSY,
        "the server is busy or temporarily unavailable",
        "451 4.4.5 High load, try again later",
        generic=True,
    ),
)

_KEEP = "abcdefghijklmnopqrstuvwxyz0123456789"
_TO_SPACE = str.maketrans({code: " " for code in range(128) if chr(code) not in _KEEP})
# The same mapping as a bytes table: bytes.translate is several times faster
# than str.translate, and almost every failure text is plain ASCII.
_TO_SPACE_BYTES = bytes(
    code if chr(code) in _KEEP else ord(" ") for code in range(128)
) + bytes(range(128, 256))


def _build_index() -> dict[str, tuple[tuple[int, Branch], ...]]:
    index: dict[str, list[tuple[int, Branch]]] = {}
    for position, rule in enumerate(RULES):
        for branch in rule.branches:
            for anchor in branch.anchors:
                index.setdefault(anchor, []).append((position, branch))
    return {anchor: tuple(found) for anchor, found in index.items()}


class _Candidate(NamedTuple):
    """One branch to try for an anchor, flattened for match()'s inner loop."""

    position: int
    prefix: str
    # None when the branch is nothing but its prefix: finding it is matching.
    search: Callable[[str, int], re.Match[str] | None] | None
    families: frozenset[str] | None


def _candidate(position: int, branch: Branch) -> _Candidate:
    literal = branch.prefix == branch.regex.pattern
    search = None if literal else branch.regex.search
    return _Candidate(position, branch.prefix, search, RULES[position].families)


_INDEX = _build_index()
ANCHORS = frozenset(_INDEX)
_CANDIDATES: dict[str, tuple[_Candidate, ...]] = {
    anchor: tuple(_candidate(position, branch) for position, branch in found)
    for anchor, found in _INDEX.items()
}

_FIRST_POSITION = {anchor: found[0].position for anchor, found in _CANDIDATES.items()}


def words(lowered: str) -> set[str]:
    """Return the set of alphanumeric words of a lower-cased text."""
    if lowered.isascii():
        spaced = lowered.encode("ascii").translate(_TO_SPACE_BYTES).decode("ascii")
        return set(spaced.split())
    return set(lowered.translate(_TO_SPACE).split())


def match(lowered: str, tokens: set[str], family: str) -> Rule | None:
    """Return the first rule, in table order, whose wording is in the text."""
    present = tokens & ANCHORS
    if not present:
        return None
    best = len(RULES)
    # Anchors whose rules come first are tried first: once a rule is found,
    # every anchor whose earliest rule comes later is skipped.
    ordered: Iterable[str] = present
    if len(present) > 1:
        ordered = sorted(present, key=_FIRST_POSITION.__getitem__)
    for anchor in ordered:
        if _FIRST_POSITION[anchor] >= best:
            break
        for position, prefix, search, families in _CANDIDATES[anchor]:
            if position >= best:
                break
            # Every match starts with the prefix, so the regex may start where
            # the prefix first occurs: a leading \b makes a scan from 0 slow.
            start = lowered.find(prefix)
            if start >= 0 and (search is None or search(lowered, start)):
                if families is None or family in families:
                    best = position
                    break
    return RULES[best] if best < len(RULES) else None
