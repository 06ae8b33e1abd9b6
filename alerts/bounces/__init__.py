"""Read incoming bounce reports: standard DSNs and the common other formats.

Plain Python (no Django): ``read_bounce(data)`` answers for any bytes.
"""

from .reader import read_bounce, read_bounce_file
from .types import BounceRecipient, BounceReport

__all__ = ["BounceRecipient", "BounceReport", "read_bounce", "read_bounce_file"]
