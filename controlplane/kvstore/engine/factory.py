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
    if config.engine is EngineKind.RAFTOS:
        try:
            import msgpack  # noqa: F401
            import raftos  # noqa: F401
        except ImportError as exc:
            raise EngineNotAvailableError(
                f"KV_ENGINE=raftos needs the 'raftos' extra ({exc}); install it with "
                "pip install --no-deps raftos==0.2.6 && pip install msgpack cryptography"
            ) from None
        from controlplane.kvstore.engine.raftos_engine import RaftosEngine

        return RaftosEngine(config)
    raise EngineNotAvailableError(f"KV_ENGINE={config.engine.value}: no such engine")
