"""Leader election over a coordination.k8s.io/v1 Lease, client-go's rules (see ``core``).

Why not ``kubernetes.leaderelection`` (kubernetes 37): it records no ``leaseTransitions``,
retries without jitter, measures expiry on the wall clock (``time.time()``), cannot bound a
hung request by the renew deadline, and runs the leader callback in a thread nothing stops —
so a leader that cannot renew keeps acting. ``core`` is the pure state machine,
``elector`` its I/O shell.
"""

from controlplane.leaderelection.core import ElectionTimings, Elector, LeaseRecord
from controlplane.leaderelection.elector import (
    TRANSITIONS_ANNOTATION,
    WRITER_ANNOTATION,
    LeaderElection,
    NotActing,
    Term,
)

__all__ = [
    "TRANSITIONS_ANNOTATION",
    "WRITER_ANNOTATION",
    "ElectionTimings",
    "Elector",
    "LeaderElection",
    "LeaseRecord",
    "NotActing",
    "Term",
]
