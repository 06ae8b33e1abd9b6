"""Classify mail-processing failures: persistence, scope, level and reason.

Plain Python, no Django: ``classify(Failure(...))`` returns a Classification.
"""

from __future__ import annotations

from .decide import classify, clear_cache, normalise_stage
from .exceptions import failure_from_exception, failures_from_recipients_refused
from .reasons import REASON_LABELS, Reason
from .types import Classification, Failure, Level, Persistence, Scope, Stage
from .version import CLASSIFIER_VERSION

__all__ = [
    "CLASSIFIER_VERSION",
    "REASON_LABELS",
    "Classification",
    "Failure",
    "Level",
    "Persistence",
    "Reason",
    "Scope",
    "Stage",
    "classify",
    "clear_cache",
    "failure_from_exception",
    "failures_from_recipients_refused",
    "normalise_stage",
]
