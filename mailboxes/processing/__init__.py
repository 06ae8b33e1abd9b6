"""Processing of mailboxes: fetch, send, report, and Test & Enable.

Plain functions that the Celery tasks, the management commands and the tests
call alike. Every failure goes to the alerts funnel (alerts.funnel).
"""

from mailboxes.processing.claims import LostClaim, claim, lease_for, release
from mailboxes.processing.run import (
    Outcome,
    RunReport,
    due_mailboxes,
    process_mailbox,
)
from mailboxes.processing.testing import (
    TestOutcome,
    request_profile_test,
    request_test_and_enable,
    run_profile_test,
    run_test_and_enable,
)

__all__ = [
    "LostClaim",
    "Outcome",
    "RunReport",
    "TestOutcome",
    "claim",
    "due_mailboxes",
    "lease_for",
    "process_mailbox",
    "release",
    "request_profile_test",
    "request_test_and_enable",
    "run_profile_test",
    "run_test_and_enable",
]
