"""Read the facts of a failure, then decide its persistence, scope and reason.

Three layers stay apart: the raw Failure (untouched), the facts read from it
(codes, the matched rule, which table spoke), and the decision built from the
facts. Server text is untrusted: it is only ever searched, at most its first
few kilobytes, and never evaluated.

Order of authority:

- reason: recognised wording (generic wording yields to a specific status),
  then the enhanced status, IMAP/POP3 response code, HTTP status, errno,
  exception class, SMTP reply code, and a bare NO/BAD/BYE/-ERR answer;
- scope: the wording's scope, then the codes' scopes, then the reason's own
  scope, then the stage's natural scope;
- persistence: wording that knows better, the DSN action, the full-mailbox
  rule of RFC 3463, the status class, the reply class, the response codes,
  the exception, and finally the reason (unknown is transient).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from . import enhanced, smtp_codes, wording
from .advice import SCOPE_PHRASE, action_for
from .exceptions import EXCEPTIONS, TEXT_TOKENS, ExceptionInfo, exception_key
from .http_codes import ERRNOS, HTTP_STATUSES
from .imap_codes import BARE_ANSWERS, IMAP_CODES, ProtocolCode
from .pop3_codes import BARE_ERR, BARE_ERR_LOGIN, POP3_CODES
from .reasons import Reason
from .types import Classification, Failure, Level, Persistence, Scope, Stage
from .version import CLASSIFIER_VERSION

logger = logging.getLogger(__name__)

R = Reason
P, T = Persistence.PERMANENT, Persistence.TRANSIENT
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE

MAX_SCAN = 4096

_STAGES = {stage.value: stage for stage in Stage}
# Enum .value goes through a descriptor; a dict lookup is several times faster.
_STAGE_VALUES = {stage: stage.value for stage in Stage}
_REASON_VALUES = {reason: reason.value for reason in Reason}

FAMILY: dict[Stage, str] = {
    Stage.TCP: "net",
    Stage.DNS: "net",
    Stage.TLS: "net",
    Stage.SMTP_CONNECT: "smtp",
    Stage.SMTP_AUTH: "smtp",
    Stage.SMTP_SEND: "smtp",
    Stage.SMTP: "smtp",
    Stage.IMAP_CONNECT: "imap",
    Stage.IMAP_LOGIN: "imap",
    Stage.IMAP_FETCH: "imap",
    Stage.IMAP_APPEND: "imap",
    Stage.IMAP: "imap",
    Stage.POP3_CONNECT: "pop3",
    Stage.POP3_LOGIN: "pop3",
    Stage.POP3_FETCH: "pop3",
    Stage.POP3: "pop3",
    Stage.DSN: "dsn",
    Stage.EWS: "ews",
    Stage.OTHER: "other",
}

NATURAL_SCOPE: dict[Stage, Scope] = {
    Stage.TCP: PROFILE,
    Stage.DNS: PROFILE,
    Stage.TLS: PROFILE,
    Stage.SMTP_CONNECT: PROFILE,
    Stage.IMAP_CONNECT: PROFILE,
    Stage.POP3_CONNECT: PROFILE,
    Stage.SMTP_AUTH: MAILBOX,
    Stage.IMAP_LOGIN: MAILBOX,
    Stage.POP3_LOGIN: MAILBOX,
    Stage.SMTP_SEND: EMAIL,
    Stage.DSN: EMAIL,
    Stage.IMAP_FETCH: MAILBOX,
    Stage.IMAP_APPEND: MAILBOX,
    Stage.POP3_FETCH: MAILBOX,
    Stage.SMTP: MAILBOX,
    Stage.IMAP: MAILBOX,
    Stage.POP3: MAILBOX,
    Stage.EWS: MAILBOX,
    Stage.OTHER: MAILBOX,
}

LOGIN_STAGES = frozenset(
    {Stage.IMAP_LOGIN, Stage.POP3_LOGIN, Stage.SMTP_AUTH, Stage.POP3, Stage.IMAP}
)

# Reasons that are about our own connection to the server: they concern the
# profile unless a remote server reported them about a third system.
_LOCAL = "local"

REASON_SCOPE: dict[Reason, Scope | str] = {
    R.HOST_UNKNOWN: _LOCAL,
    R.CONNECTION_REFUSED: _LOCAL,
    R.CONNECTION_LOST: _LOCAL,
    R.TIMEOUT: _LOCAL,
    R.NETWORK_ERROR: _LOCAL,
    R.TLS_FAILED: PROFILE,
    R.CERTIFICATE_INVALID: PROFILE,
    R.TLS_REQUIRED: PROFILE,
    R.AUTH_MECHANISM: PROFILE,
    R.NOT_SUPPORTED: PROFILE,
    R.CONFIGURATION: PROFILE,
    R.RELAY_DENIED: PROFILE,
    R.BLOCKED: PROFILE,
    R.SENDER_AUTHENTICATION: PROFILE,
    R.AUTHENTICATION_FAILED: MAILBOX,
    R.AUTHORIZATION_FAILED: MAILBOX,
    R.PASSWORD_EXPIRED: MAILBOX,
    R.PERMISSION_DENIED: MAILBOX,
    R.SENDER_REJECTED: MAILBOX,
    R.QUOTA_EXCEEDED: MAILBOX,
    R.RATE_LIMITED: MAILBOX,
    R.MAILBOX_IN_USE: MAILBOX,
    R.MESSAGE_TOO_LARGE: EMAIL,
    R.VIRUS_DETECTED: EMAIL,
    R.EXPIRED: EMAIL,
}

PERMANENT_REASONS = frozenset(
    {
        R.USER_UNKNOWN,
        R.MAILBOX_DISABLED,
        R.BAD_ADDRESS,
        R.HOST_UNKNOWN,
        R.TLS_FAILED,
        R.CERTIFICATE_INVALID,
        R.TLS_REQUIRED,
        R.AUTHENTICATION_FAILED,
        R.AUTH_MECHANISM,
        R.AUTHORIZATION_FAILED,
        R.PASSWORD_EXPIRED,
        R.PERMISSION_DENIED,
        R.SENDER_REJECTED,
        R.RELAY_DENIED,
        R.BLOCKED,
        R.SENDER_AUTHENTICATION,
        R.POLICY_REJECTED,
        R.VIRUS_DETECTED,
        R.MESSAGE_TOO_LARGE,
        R.NOT_SUPPORTED,
        R.CONFIGURATION,
        R.PROTOCOL_ERROR,
        R.EXPIRED,
        R.MAILBOX_FULL,
    }
)

# The usual subject.detail of a reason, to infer a status when none was sent.
CANONICAL_DETAIL: dict[Reason, str] = {
    R.USER_UNKNOWN: "1.1",
    R.BAD_ADDRESS: "1.3",
    R.MAILBOX_DISABLED: "2.1",
    R.MAILBOX_FULL: "2.2",
    R.MESSAGE_TOO_LARGE: "3.4",
    R.RELAY_DENIED: "7.1",
    R.AUTHENTICATION_FAILED: "7.8",
    R.TLS_REQUIRED: "7.10",
    R.SENDER_AUTHENTICATION: "7.26",
    R.EXPIRED: "4.7",
}

# Patterns start with a character class so that the regex engine can skip
# ahead quickly; the character before a match is checked by hand.
_DIGIT_RE = re.compile(r"\d")
_STATUS_RE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_GIVEN_STATUS_RE = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\s*")
_REPLY_RE = re.compile(r"[2-5][0-5]\d(?=[ -]|$)", re.M)
_REPLY_BEFORE = frozenset(" \t\r\n(\\[<>='\"")
_TUPLE_REPLY_RE = re.compile(r"\(([2-5][0-5]\d), ?b?['\"]")
_QUOTED_REPLY_RE = re.compile(r"code[ :=]*\"([2-5][0-5]\d)\"")
_DSN_VALUE_RE = re.compile(
    r"[\"']?\s*[:=]\s*[\"']?"
    r"(failed|delayed|deferred|bounced|permanent|transient|[245]\.\d{1,3}\.\d{1,3})"
)
_DSN_KEYWORDS = ("action", "status", "bouncetype")
_DSN_MEANING = {
    "failed": P,
    "bounced": P,
    "permanent": P,
    "delayed": T,
    "deferred": T,
    "transient": T,
}
_BRACKET_RE = re.compile(r"\[([a-z][a-z0-9/-]{1,30})[\] ]")
_IMAP_ANSWER_RE = re.compile(r"(?:NO|BAD|BYE)(?![A-Za-z])")
_ERRNO_RE = re.compile(r"\[(?:errno|winerror) (-?\d{1,5})\]")
_HTTP_RE = re.compile(r"[45]\d\d(?!\d)")
_HTTP_CONTEXT = ("status", "code", "error", "http/")
_EXCEPTION_WORDS = frozenset(TEXT_TOKENS)
_PROTOCOL_CODES: dict[str, tuple[str, ProtocolCode]] = {
    **{key.lower(): ("IMAP", code) for key, code in IMAP_CODES.items()},
    **{key.lower(): ("POP3", code) for key, code in POP3_CODES.items()},
}


@dataclass(slots=True)
class Facts:
    """Hold what was read from a failure, before anything is decided."""

    stage: Stage
    family: str
    status: str | None = None
    status_source: str | None = None
    reply_code: int | None = None
    reply_source: str | None = None
    dsn_persistence: Persistence | None = None
    dsn_word: str | None = None
    protocol_key: str | None = None
    protocol: ProtocolCode | None = None
    bare: ProtocolCode | None = None
    bare_key: str | None = None
    http: int | None = None
    errno: int | None = None
    exception: str | None = None
    rule: wording.Rule | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def normalise_stage(stage: object) -> Stage:
    """Return the Stage a stage name stands for; unknown names become OTHER."""
    if isinstance(stage, Stage):
        return stage
    if not isinstance(stage, str):
        return Stage.OTHER
    known = _STAGES.get(stage)
    if known is not None:
        return known
    return _STAGES.get(stage.strip().lower().replace("_", "-"), Stage.OTHER)


def _text_of(failure: Failure) -> str:
    text = getattr(failure, "text", "")
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text[: MAX_SCAN * 4].decode("utf-8", "replace")
    return "" if text is None else str(text)[: MAX_SCAN * 4]


def _given_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 200 <= value <= 599:
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        return _given_code(int(value.strip()))
    return None


def _given_status(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 20:
        return None
    found = _GIVEN_STATUS_RE.fullmatch(value)
    if found is None:
        return None
    klass, subject, detail = found.groups()
    return f"{klass}.{int(subject)}.{int(detail)}"


def clear_cache(*, memos: bool = False) -> None:
    """Forget remembered failures (after the rules change, and in benchmarks).

    With ``memos``, also forget the decisions remembered per set of facts and
    the lookups and sentences they were built from.
    """
    _CACHE.clear()
    if memos:
        for memo in (_DECISIONS, _STATUS_ENTRIES, _REPLY_ENTRIES, _EXPLANATIONS):
            memo.clear()
        _ACTIONS.clear()


def read_facts(failure: Failure) -> tuple[Facts, str]:
    """Return the facts of a failure and the lower-cased text they came from."""
    # Fast paths first: a known stage name and a str text are the usual case.
    name = getattr(failure, "stage", None)
    stage = _STAGES.get(name) if type(name) is str else None
    if stage is None:
        stage = normalise_stage(name)
    facts = Facts(stage=stage, family=FAMILY[stage])
    text = getattr(failure, "text", "")
    if type(text) is not str:
        text = _text_of(failure)
    if len(text) > MAX_SCAN:
        facts.extra["text_truncated"] = True
        text = text[:MAX_SCAN]
    lowered = text.lower()
    tokens = wording.words(lowered)
    family = facts.family

    # Codes are digits: a text without any (one in four) needs no code scans.
    digits = _DIGIT_RE.search(lowered) is not None
    _read_codes(facts, failure, lowered, family, digits)
    if family in ("imap", "pop3", "other"):
        _read_protocol(facts, text, lowered, stage)
    if digits and family in ("ews", "other"):
        facts.http = _first_http(lowered)
    if "errno" in tokens or "winerror" in tokens:
        found = _ERRNO_RE.search(lowered)
        if found is not None and int(found.group(1)) in ERRNOS:
            facts.errno = int(found.group(1))

    exception = getattr(failure, "exception", None)
    facts.exception = exception_key(exception) if exception else None
    if facts.exception is None:
        facts.exception = _exception_in_text(lowered, tokens)
    rule = wording.match(lowered, tokens, family)
    if rule is not None and rule.generic and _specific(facts.status):
        # Generic wording ("service unavailable") must not hide what a
        # specific status code says.
        rule = None
    facts.rule = rule
    return facts, lowered


def _specific(status: str | None) -> bool:
    if status is None or status.endswith(".0"):
        return False
    entry = _status_entry(status)
    return entry is not None and entry.reason not in (R.UNKNOWN, R.NOTICE)


def _read_codes(
    facts: Facts, failure: Failure, lowered: str, family: str, digits: bool
) -> None:
    status = getattr(failure, "status", None)
    given_status = _given_status(status) if status is not None else None
    reply = getattr(failure, "reply_code", None)
    given_reply = _given_code(reply) if reply is not None else None
    if given_status:
        facts.status, facts.status_source = given_status, "given"
    if given_reply:
        facts.reply_code, facts.reply_source = given_reply, "given"

    if family in ("dsn", "smtp", "net", "other"):
        _read_dsn_fields(facts, lowered)

    if not digits:
        return
    if facts.status is None and "." in lowered:
        facts.status = _first_status(lowered)
        facts.status_source = "text" if facts.status else None

    if facts.reply_code is None and family in ("smtp", "dsn", "net", "other"):
        facts.reply_code = _first_reply(lowered)
        facts.reply_source = "text" if facts.reply_code else None


def _read_dsn_fields(facts: Facts, lowered: str) -> None:
    """Read RFC 3464 Action/Status fields (and their JSON or log cousins)."""
    for keyword in _DSN_KEYWORDS:
        start = lowered.find(keyword)
        while start >= 0:
            found = _DSN_VALUE_RE.match(lowered, start + len(keyword))
            if found is not None:
                word = found.group(1)
                if word in _DSN_MEANING:
                    if facts.dsn_persistence is None:
                        facts.dsn_persistence = _DSN_MEANING[word]
                        facts.dsn_word = word
                elif facts.status is None and not word.endswith(".0.0"):
                    facts.status, facts.status_source = word, "dsn-field"
            start = lowered.find(keyword, start + len(keyword))


def _first_status(lowered: str) -> str | None:
    """Return the first specific enhanced status code of a text."""
    first: str | None = None
    for found in _STATUS_RE.finditer(lowered):
        before = lowered[found.start() - 1] if found.start() else " "
        if before.isalnum() or before in "._":
            continue
        klass, subject, detail = found.groups()
        if klass == "2" or int(subject) > 7:
            continue
        status = f"{klass}.{int(subject)}.{int(detail)}"
        if subject != "0" or detail != "0":
            return status
        first = first or status
    return first


def _first_reply(lowered: str) -> int | None:
    """Return the first SMTP failure reply code of a text, or None."""
    best: tuple[int, int] | None = None
    for found in _REPLY_RE.finditer(lowered):
        start = found.start()
        if start and lowered[start - 1] not in _REPLY_BEFORE:
            continue
        if lowered.endswith("port ", 0, start) or found.group() < "400":
            continue
        best = (start, int(found.group()))
        break
    for pattern, hint in ((_TUPLE_REPLY_RE, "("), (_QUOTED_REPLY_RE, "code")):
        other = pattern.search(lowered) if hint in lowered else None
        if other is not None and (best is None or other.start() < best[0]):
            if other.group(1) >= "400":
                best = (other.start(), int(other.group(1)))
    return best[1] if best else None


def _first_http(lowered: str) -> int | None:
    """Return the first HTTP error status that the text names as a status."""
    for found in _HTTP_RE.finditer(lowered):
        start = found.start()
        if start and lowered[start - 1].isalnum():
            continue
        number = int(found.group())
        if number not in HTTP_STATUSES:
            continue
        before = lowered[max(0, start - 14) : start]
        wrapped = before.endswith("(") and lowered.startswith(")", found.end())
        if wrapped or any(word in before for word in _HTTP_CONTEXT):
            return number
    return None


def _read_protocol(facts: Facts, text: str, lowered: str, stage: Stage) -> None:
    if "[" in lowered:
        for key in _BRACKET_RE.findall(lowered):
            entry = _PROTOCOL_CODES.get(key)
            # [ALERT] and the like only carry a message; keep reading.
            if entry is not None and entry[1].reason not in (R.UNKNOWN, R.NOTICE):
                facts.protocol_key = f"{entry[0]} [{key.upper()}]"
                facts.protocol = entry[1]
                return
    if facts.family == "pop3" or "-err" in lowered:
        if "-err" in lowered:
            login = stage in LOGIN_STAGES
            facts.bare = BARE_ERR_LOGIN if login else BARE_ERR
            facts.bare_key = "POP3 -ERR"
        return
    if "NO" not in text and "BAD" not in text and "BYE" not in text:
        return
    answers = {
        found.group()
        for found in _IMAP_ANSWER_RE.finditer(text)
        if not (found.start() and text[found.start() - 1].isalpha())
    }
    for kind in ("NO", "BAD", "BYE"):
        if kind in answers:
            login = kind == "NO" and stage in LOGIN_STAGES
            facts.bare = BARE_ANSWERS["NO-login" if login else kind]
            facts.bare_key = f"IMAP {kind}"
            return


def _exception_in_text(lowered: str, tokens: set[str]) -> str | None:
    named = tokens & _EXCEPTION_WORDS
    found = [TEXT_TOKENS[token] for token in named] if named else []
    if "socket" in tokens and "socket.error" in lowered:
        found.append("socket.error")
    if ("imap4" in tokens or "imaplib" in tokens) and ".error" in lowered:
        found.append("imap4.error")
    if "proto" in tokens and "error_proto" in lowered:
        found.append("error_proto")
    if not found:
        return None
    return min(found, key=lambda key: lowered.find(key.split(".")[-1]))


# Small memories of pure lookups and of the sentences built from them: the
# same few codes and rules recur across failures whose texts all differ. Each
# is emptied when full, so hostile input cannot make it grow without bound.
_MEMO_SIZE = 4096
_STATUS_ENTRIES: dict[str, enhanced.Detail | None] = {}
_REPLY_ENTRIES: dict[int, smtp_codes.Reply | None] = {}
_EXPLANATIONS: dict[tuple[Any, ...], str] = {}
_ACTIONS: dict[tuple[Reason, Scope, Persistence], str] = {}


def _memo_room(memo: dict[Any, Any]) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()


def _status_entry(status: str | None) -> enhanced.Detail | None:
    if not status:
        return None
    try:
        return _STATUS_ENTRIES[status]
    except KeyError:
        _memo_room(_STATUS_ENTRIES)
        entry = _STATUS_ENTRIES[status] = enhanced.lookup(status)
        return entry


def _reply_entry(code: int | None) -> smtp_codes.Reply | None:
    if code is None:
        return None
    try:
        return _REPLY_ENTRIES[code]
    except KeyError:
        _memo_room(_REPLY_ENTRIES)
        entry = _REPLY_ENTRIES[code] = smtp_codes.lookup(code)
        return entry


def _action(reason: Reason, scope: Scope, persistence: Persistence) -> str:
    key = (reason, scope, persistence)
    try:
        return _ACTIONS[key]
    except KeyError:
        _memo_room(_ACTIONS)
        action = _ACTIONS[key] = action_for(reason, scope, persistence)
        return action


_DECISIONS: dict[tuple[Any, ...], Classification] = {}
_TABLE_RULES = {id(rule) for rule in wording.RULES}


def _facts_key(facts: Facts) -> tuple[Any, ...] | None:
    """Return everything decide() reads from the facts, or None if not hashable.

    The rule counts by identity, and only a rule of the table (which keeps it
    alive, so its id is never reused) makes the facts worth remembering.
    """
    rule = facts.rule
    if rule is not None and id(rule) not in _TABLE_RULES:
        return None
    key = (
        facts.stage,
        facts.family,
        facts.status,
        facts.status_source,
        facts.reply_code,
        facts.reply_source,
        facts.dsn_persistence,
        facts.dsn_word,
        facts.protocol_key,
        facts.protocol,
        facts.bare_key,
        facts.bare,
        facts.http,
        facts.errno,
        facts.exception,
        id(rule),
        tuple(facts.extra.items()) if facts.extra else (),
    )
    return _hashable(key)


def _shared_decision(facts: Facts) -> Classification:
    """Return the decision for the facts, remembered and shared: never hand it
    out without _copy(), since its facts dict must stay as built.

    Failures whose texts all differ (an address, a queue id, a time) mostly
    read as the same few facts, so decide() is run once per set of facts.
    """
    key = _facts_key(facts)
    if key is None:
        return _decide(facts)
    known = _DECISIONS.get(key)
    if known is None:
        _memo_room(_DECISIONS)
        known = _DECISIONS[key] = _decide(facts)
    return known


def decide(facts: Facts) -> Classification:
    """Return the decision that a set of facts supports."""
    return _copy(_shared_decision(facts))


def _decide(facts: Facts) -> Classification:
    status_entry = _status_entry(facts.status)
    reply_entry = _reply_entry(facts.reply_code)
    http_entry = HTTP_STATUSES.get(facts.http) if facts.http else None
    errno_entry = ERRNOS.get(facts.errno) if facts.errno is not None else None
    exc_entry: ExceptionInfo | None = (
        EXCEPTIONS.get(facts.exception) if facts.exception else None
    )
    rule = facts.rule

    reason, source = _reason(
        facts, status_entry, reply_entry, http_entry, errno_entry, exc_entry
    )
    remote = (
        facts.family == "dsn"
        or facts.status is not None
        or (facts.reply_code is not None)
    )

    scope = _scope(
        facts, reason, source, status_entry, reply_entry, http_entry, exc_entry, remote
    )
    persistence, persistence_note = _persistence(
        facts,
        reason,
        source,
        status_entry,
        reply_entry,
        http_entry,
        errno_entry,
        exc_entry,
    )

    status = facts.status
    status_inferred = False
    if (
        status is None
        and facts.family in ("smtp", "dsn")
        and reason in CANONICAL_DETAIL
    ):
        klass = "5" if persistence is P else "4"
        status, status_inferred = f"{klass}.{CANONICAL_DETAIL[reason]}", True

    record: dict[str, Any] = {
        "stage": _STAGE_VALUES[facts.stage],
        "decided_by": source,
        "status_source": "inferred" if status_inferred else facts.status_source,
        "status_inferred": status_inferred,
        "reply_code_source": facts.reply_source,
        "reply_code_inferred": False,
    }
    if rule is not None:
        record["rule"] = rule.name
    if facts.protocol_key:
        record["response_code"] = facts.protocol_key
    elif facts.bare_key:
        record["response"] = facts.bare_key
    if facts.http is not None:
        record["http_status"] = facts.http
    if facts.errno is not None:
        record["errno"] = facts.errno
    if facts.exception:
        record["exception"] = facts.exception
    if facts.dsn_word:
        record["dsn_action"] = facts.dsn_word
    record.update(facts.extra)

    # The sentence depends on nothing but these facts and entries derived
    # from them (the bare answer by identity: two share one key).
    explain_key = (
        facts.status,
        facts.reply_code,
        facts.protocol_key,
        facts.http,
        facts.errno,
        rule.name if rule is not None else None,
        facts.exception,
        facts.bare_key,
        id(facts.bare),
        source,
        scope,
        persistence_note,
    )
    explanation = _EXPLANATIONS.get(explain_key)
    if explanation is None:
        explanation = _explain(
            facts,
            reason,
            source,
            scope,
            status_entry,
            reply_entry,
            http_entry,
            errno_entry,
            exc_entry,
            persistence_note,
        )
        _memo_room(_EXPLANATIONS)
        _EXPLANATIONS[explain_key] = explanation
    return Classification(
        persistence=persistence,
        scope=scope,
        level=Level.ERROR if persistence is P else Level.WARNING,
        reason=_REASON_VALUES[reason],
        status=status,
        reply_code=facts.reply_code,
        explanation=explanation,
        action=_action(reason, scope, persistence),
        classifier_version=CLASSIFIER_VERSION,
        facts=record,
    )


def _reason(
    facts: Facts,
    status_entry: enhanced.Detail | None,
    reply_entry: smtp_codes.Reply | None,
    http_entry: ProtocolCode | None,
    errno_entry: ProtocolCode | None,
    exc_entry: ExceptionInfo | None,
) -> tuple[Reason, str]:
    """Return the reason and which fact gave it, most telling fact first."""
    if facts.rule is not None:
        return facts.rule.reason, "wording"
    ordered: tuple[tuple[Reason | None, str], ...] = (
        (status_entry.reason if status_entry else None, "status"),
        (facts.protocol.reason if facts.protocol else None, "response_code"),
        (http_entry.reason if http_entry else None, "http_status"),
        (errno_entry.reason if errno_entry else None, "errno"),
        (exc_entry.reason if exc_entry else None, "exception"),
        (reply_entry.reason if reply_entry else None, "reply_code"),
        (facts.bare.reason if facts.bare else None, "response"),
    )
    for reason, source in ordered:
        if reason is not None and reason not in (R.UNKNOWN, R.NOTICE):
            return reason, source
    return R.UNKNOWN, "nothing"


def _scope(
    facts: Facts,
    reason: Reason,
    source: str,
    status_entry: enhanced.Detail | None,
    reply_entry: smtp_codes.Reply | None,
    http_entry: ProtocolCode | None,
    exc_entry: ExceptionInfo | None,
    remote: bool,
) -> Scope:
    """Return the scope: what the wording says, then the codes, then the reason."""
    rule = facts.rule
    if rule is not None:
        if facts.family == "dsn" and rule.dsn_scope is not None:
            return rule.dsn_scope
        if rule.scope is not None:
            return rule.scope
    for entry_scope in (
        status_entry.scope if status_entry else None,
        facts.protocol.scope if facts.protocol else None,
        http_entry.scope if http_entry else None,
        # In a bounce the reply code describes the remote session with the
        # destination, not ours with our server.
        reply_entry.scope if reply_entry and facts.family != "dsn" else None,
        exc_entry.scope if exc_entry else None,
        facts.bare.scope if facts.bare and source == "response" else None,
    ):
        if entry_scope is not None:
            return entry_scope
    by_reason = REASON_SCOPE.get(reason)
    if by_reason == _LOCAL:
        return NATURAL_SCOPE[facts.stage] if remote else PROFILE
    if isinstance(by_reason, Scope):
        return by_reason
    return NATURAL_SCOPE[facts.stage]


def _class_persistence(klass: int) -> Persistence | None:
    return T if klass == 4 else P if klass == 5 else None


def _code_persistence(
    facts: Facts,
    status_entry: enhanced.Detail | None,
    reply_entry: smtp_codes.Reply | None,
) -> Persistence | None:
    """Return what the enhanced status, else the reply code, says alone."""
    if facts.status is not None:
        if status_entry is not None and status_entry.persistence is not None:
            return status_entry.persistence
        found = _class_persistence(int(facts.status[0]))
        if found is not None:
            return found
    if facts.reply_code is not None:
        if reply_entry is not None and reply_entry.persistence is not None:
            return reply_entry.persistence
        return _class_persistence(facts.reply_code // 100)
    return None


def _persistence(
    facts: Facts,
    reason: Reason,
    source: str,
    status_entry: enhanced.Detail | None,
    reply_entry: smtp_codes.Reply | None,
    http_entry: ProtocolCode | None,
    errno_entry: ProtocolCode | None,
    exc_entry: ExceptionInfo | None,
) -> tuple[Persistence, str | None]:
    """Return the persistence and, when it overrides a code, why."""
    by_codes = _code_persistence(facts, status_entry, reply_entry)
    rule = facts.rule
    if rule is not None and rule.persistence is not None:
        note = "wording" if by_codes not in (None, rule.persistence) else None
        return rule.persistence, note
    if facts.dsn_persistence is not None:
        note = "dsn" if by_codes not in (None, facts.dsn_persistence) else None
        return facts.dsn_persistence, note
    if reason is R.MAILBOX_FULL:
        # RFC 3463: a recipient's full mailbox is a persistent transient
        # condition; our own full mailbox needs its owner.
        if facts.family in ("smtp", "dsn"):
            return T, "mailbox_full_recipient"
        return P, "mailbox_full_own"
    if by_codes is not None:
        return by_codes, None
    for entry in (facts.protocol, http_entry, errno_entry):
        if entry is not None:
            return entry.persistence, None
    if exc_entry is not None and exc_entry.persistence is not None:
        return exc_entry.persistence, None
    if facts.bare is not None and source == "response":
        return facts.bare.persistence, None
    return (P if reason in PERMANENT_REASONS else T), None


_NOTES = {
    "wording": "that wording, not the code class, decides whether retrying helps",
    "dsn": "the report's action says so",
    "mailbox_full_recipient": "a full mailbox is a persistent transient condition"
    " (RFC 3463), its owner can make room",
    "mailbox_full_own": "our own mailbox stays full until its owner makes room",
}


def _explain(
    facts: Facts,
    reason: Reason,
    source: str,
    scope: Scope,
    status_entry: enhanced.Detail | None,
    reply_entry: smtp_codes.Reply | None,
    http_entry: ProtocolCode | None,
    errno_entry: ProtocolCode | None,
    exc_entry: ExceptionInfo | None,
    note: str | None,
) -> str:
    """Return one sentence saying why the failure was classified so."""
    parts: list[str] = []
    if facts.status is not None:
        klass, subject, detail = facts.status.split(".")
        class_name = enhanced.CLASSES[klass][0]
        meaning = status_entry.meaning if status_entry else "an unregistered detail"
        parts.append(
            f"{facts.status}: class {klass} means {class_name}; subject {subject}"
            f" ({enhanced.subject_name(int(subject))}), detail {detail} means"
            f" {meaning}"
        )
    elif facts.reply_code is not None and reply_entry is not None:
        parts.append(
            f"reply code {facts.reply_code}:"
            f" {smtp_codes.CLASS_MEANING[facts.reply_code // 100]},"
            f" {reply_entry.meaning}"
        )
    if facts.protocol is not None:
        parts.append(
            f"the response code {facts.protocol_key} ({facts.protocol.source})"
            f" means {facts.protocol.meaning}"
        )
    if http_entry is not None:
        parts.append(f"HTTP status {facts.http} means {http_entry.meaning}")
    if errno_entry is not None:
        parts.append(f"{errno_entry.source} means {errno_entry.meaning}")
    if facts.rule is not None:
        parts.append(f"the text shows {facts.rule.says}")
    elif exc_entry is not None and source in ("exception", "nothing"):
        parts.append(f"the exception {facts.exception} means {exc_entry.meaning}")
    elif facts.bare is not None and source == "response":
        parts.append(f"the {facts.bare_key} answer means {facts.bare.meaning}")
    if not parts:
        parts.append(
            "nothing in the failure was recognised, and what is not understood is"
            " treated as transient until it repeats"
        )
    if note is not None:
        parts.append(_NOTES[note])
    sentence = "; ".join(parts) + f", so it concerns {SCOPE_PHRASE[scope]}."
    return sentence[0].upper() + sentence[1:]


def _hashable(key: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Return the key if it can key a dict (a caller may pass odd values),
    else None."""
    try:
        hash(key)
    except TypeError:
        return None
    return key


_CACHE: dict[tuple[Any, ...], Classification] = {}
_CACHE_SIZE = 1024


def _cache_key(failure: Failure) -> tuple[Any, ...] | None:
    """Return a key for failures worth caching: short text, hashable fields."""
    text = getattr(failure, "text", "")
    if not isinstance(text, str) or len(text) > MAX_SCAN:
        return None
    key = (
        getattr(failure, "stage", None),
        text,
        getattr(failure, "reply_code", None),
        getattr(failure, "status", None),
        getattr(failure, "exception", None),
    )
    return _hashable(key)


def _copy(decision: Classification) -> Classification:
    """Return a copy of a decision with its own facts dict.

    Cheaper than dataclasses.replace(), which runs the frozen __init__ again.
    """
    twin = object.__new__(Classification)
    twin.__dict__.update(decision.__dict__)
    twin.__dict__["facts"] = dict(decision.facts)
    return twin


def _remember(key: tuple[Any, ...], decision: Classification) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        try:
            _CACHE.pop(next(iter(_CACHE)), None)
        except (RuntimeError, StopIteration):  # another thread changed it
            return
    _CACHE[key] = decision


def classify(failure: Failure) -> Classification:
    """Return the classification of a failure; never raise.

    The same failure recurs on every retry, so recent decisions are kept; each
    caller gets its own copy of the facts dict.
    """
    try:
        key = _cache_key(failure)
        known = _CACHE.get(key) if key is not None else None
        if known is not None:
            return _copy(known)
        facts, _ = read_facts(failure)
        shared = _shared_decision(facts)
        if key is not None:
            _remember(key, shared)
        return _copy(shared)
    except Exception:  # noqa: BLE001 - an alert must never be lost to a bug here
        logger.exception("classifier fault")
        stage = normalise_stage(getattr(failure, "stage", None))
        scope = NATURAL_SCOPE[stage]
        return Classification(
            persistence=T,
            scope=scope,
            level=Level.WARNING,
            reason=R.UNKNOWN.value,
            status=None,
            reply_code=None,
            explanation="The classifier could not read this failure, so it is"
            " treated as transient until it repeats.",
            action=action_for(R.UNKNOWN, scope, T),
            classifier_version=CLASSIFIER_VERSION,
            facts={"stage": stage.value, "decided_by": "fallback"},
        )
