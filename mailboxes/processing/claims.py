"""Claim a mailbox for one worker, with a lease that a dead worker lets lapse.

A claim is a conditional UPDATE: it succeeds only when the mailbox's claim is
free or expired and the profile has a connection slot left, and the caller
goes on only when exactly one row changed. The profile row is locked while
the slots are counted, so two workers cannot both take the last one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from mailboxes.models import Mailbox
from serverprofiles.models import ServerProfile

logger = logging.getLogger(__name__)

# A lease covers one step of a run (one session and batch, one email); the run
# renews it between steps, and a heartbeat thread renews it meanwhile, so that
# one step slower than the lease (a huge message on a slow link) does not let
# a second worker in. A killed worker's claim lapses after one lease.
LEASE_TIMEOUTS = 4
LEASE_MARGIN_SECONDS = 10
BEATS_PER_LEASE = 3
# A run still going after this many beats (ten leases) is taken for stuck.
MAX_BEATS = 10 * BEATS_PER_LEASE


class LostClaim(Exception):
    """Raised when a run finds that its lease lapsed and someone else took over."""


def lease_for(profile: ServerProfile) -> timedelta:
    """Return how long a claim on a mailbox of this profile lasts unrenewed."""
    return timedelta(
        seconds=profile.timeout_seconds * LEASE_TIMEOUTS + LEASE_MARGIN_SECONDS
    )


def free_claim() -> Q:
    """Return the condition of a mailbox whose claim is free or expired."""
    now = timezone.now()
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def live_claims(profile_id: int) -> int:
    """Return how many mailboxes of the profile a worker holds right now."""
    return Mailbox.objects.filter(
        profile_id=profile_id, claimed_until__gte=timezone.now()
    ).count()


def claim(mailbox_id: int, worker: str) -> bool:
    """Claim the mailbox for ``worker``; return whether this worker got it."""
    profile_id = (
        Mailbox.objects.filter(pk=mailbox_id)
        .values_list("profile_id", flat=True)
        .first()
    )
    if profile_id is None:
        return False
    with transaction.atomic():
        # NO KEY UPDATE: writers of rows that point at the profile go on.
        profile = ServerProfile.objects.select_for_update(no_key=True).get(
            pk=profile_id
        )
        if live_claims(profile_id) >= max(profile.max_connections, 1):
            logger.debug("profile %s has no free connection slot", profile.name)
            return False
        changed = (
            Mailbox.objects.filter(pk=mailbox_id)
            .filter(free_claim())
            .update(
                claimed_by=worker[:120],
                claimed_until=timezone.now() + lease_for(profile),
            )
        )
    return changed == 1


def renew(mailbox: Mailbox, worker: str) -> None:
    """Extend this worker's lease; raise LostClaim if it is no longer ours."""
    # Only a new claimant changes claimed_by, so a lapsed lease that nobody
    # took over is still ours to extend.
    changed = Mailbox.objects.filter(pk=mailbox.pk, claimed_by=worker[:120]).update(
        claimed_until=timezone.now() + lease_for(mailbox.profile)
    )
    if changed != 1:
        raise LostClaim(f"the claim on {mailbox.address} lapsed")


def release(mailbox_id: int, worker: str) -> None:
    """Give the claim back, unless it already passed to another worker."""
    Mailbox.objects.filter(pk=mailbox_id, claimed_by=worker[:120]).update(
        claimed_by="", claimed_until=None
    )


@contextmanager
def heartbeat(
    mailbox_id: int, worker: str, every: float | None = None
) -> Iterator[None]:
    """Renew this worker's claim from a background thread while the body
    runs, every third of a lease unless told otherwise, for at most
    MAX_BEATS beats: a run stuck for good lets its claim lapse, as a dead
    worker's does.

    The beat only extends the lease: when the claim is no longer ours it
    stops, and the run finds out at its own next renew (LostClaim). Inside
    a transaction the claim's row is the caller's to renew, so no thread
    runs.
    """
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        mailbox = None
        # Every lease lasts longer than its margin: half of it is early enough
        # for the first beat, before the lease itself is read.
        interval = every or LEASE_MARGIN_SECONDS / 2
        try:
            for _ in range(MAX_BEATS):
                if stop.wait(interval):
                    return
                try:
                    if mailbox is None:
                        mailbox = Mailbox.objects.select_related("profile").get(
                            pk=mailbox_id
                        )
                        lease = lease_for(mailbox.profile).total_seconds()
                        interval = every or lease / BEATS_PER_LEASE
                    renew(mailbox, worker)
                except DatabaseError:
                    # A restarted or busy database: try again at the next beat.
                    logger.warning(
                        "could not renew the claim of mailbox %s", mailbox_id
                    )
                    connections.close_all()
            logger.warning("the run of mailbox %s outlasted its heartbeat", mailbox_id)
        except (LostClaim, Mailbox.DoesNotExist):
            return
        except Exception:
            logger.exception("the claim heartbeat of mailbox %s failed", mailbox_id)
        finally:
            # This thread's own connection, not the run's.
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"claim-{mailbox_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # A beat waits at most for its own statement; a late renew cannot
        # bring back a claim, as release() clears this run's token.
        thread.join(timeout=LEASE_MARGIN_SECONDS)
