"""The one error tree of the harness.

Every error a user can act on is a ``HarnessError``; each layer subclasses it and carries
structured fields so reports and the CLI can render them without a traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ImageError(HarnessError):
    """An image is missing or could not be built."""


class ClusterError(HarnessError):
    """A cluster could not be started, reached or torn down."""


class FaultError(HarnessError):
    """A fault could not be injected, verified or healed."""


class ScenarioError(HarnessError):
    """A scenario file is invalid; the message names file, line, field and fix."""


class CheckerError(HarnessError):
    """A checker could not read its input."""
