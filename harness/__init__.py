"""chaosplane: a chaos and high-availability testing harness for replicated control planes.

The public façade; the packages below are the architecture (see ARCHITECTURE.md):
history → scenario → images → cluster → nemesis → workload → checker → report → plugin/cli.
"""

from harness.errors import HarnessError

__all__ = ["HarnessError"]
__version__ = "0.1.0"
