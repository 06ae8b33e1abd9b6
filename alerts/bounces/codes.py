"""Find SMTP reply codes and RFC 3463 status codes in free text."""

from __future__ import annotations

import re

_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_REPLY_RE = re.compile(r"(?:^|[\s:>(\[\"'=#])([245][0-5]\d)(?=[ \t\-:,]|$)", re.M)


def find_status(text: str) -> str | None:
    """Return the first RFC 3463 status code in ``text``, or None."""
    match = _STATUS_RE.search(text or "")
    if match is None:
        return None
    klass, subject, detail = match.groups()
    if int(subject) > 7:
        return None
    return f"{klass}.{int(subject)}.{int(detail)}"


def find_statuses(text: str) -> list[str]:
    """Return every plausible status code in ``text``, in order."""
    found = []
    for klass, subject, detail in _STATUS_RE.findall(text or ""):
        if int(subject) <= 7:
            found.append(f"{klass}.{int(subject)}.{int(detail)}")
    return found


def find_reply_code(text: str, klass: str | None = None) -> int | None:
    """Return the first SMTP reply code in ``text`` (of ``klass`` if given)."""
    for match in _REPLY_RE.finditer(text or ""):
        code = match.group(1)
        if klass is None or code[0] == klass:
            return int(code)
    return None


def status_from_reply(code: int | None) -> str | None:
    """Return the generic status code that a reply code implies."""
    if code is None:
        return None
    klass = str(code)[0]
    return f"{klass}.0.0" if klass in "45" else None


def is_more_specific(candidate: str | None, current: str | None) -> bool:
    """Tell whether ``candidate`` refines a generic ``current`` status."""
    if not candidate:
        return False
    if not current:
        return True
    if candidate[0] != current[0]:
        return False
    return current.endswith(".0.0") and not candidate.endswith(".0.0")
