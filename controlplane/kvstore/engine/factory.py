"""Pick the engine named by ``KV_ENGINE``.

In a nutshell: ``make_engine(config)`` returns an unstarted :class:`Engine`; unknown or
unavailable engines raise :class:`EngineNotAvailableError` with the fix.
"""

from __future__ import annotations

from controlplane.kvstore.config import EngineKind, StoreConfig
from controlplane.kvstore.engine import Engine


class EngineNotAvailableError(RuntimeError):
    """The configured engine cannot run here."""


def make_engine(config: StoreConfig) -> Engine:
    if config.engine is EngineKind.PYSYNCOBJ:
        from controlplane.kvstore.engine.pysyncobj_engine import PySyncObjEngine

        return PySyncObjEngine(config)
    # TODO(issue 4): raftos engine with its compatibility layer (notes/components.md §1.2).
    raise EngineNotAvailableError(
        f"KV_ENGINE={config.engine.value} is not implemented yet; use pysyncobj"
    )
