"""The Raft-replicated key-value store (the etcd role of the control plane).

In a nutshell: ``python -m controlplane.kvstore`` runs one member configured by ``KV_*``
environment variables (see ARCHITECTURE.md). Layers, each testable alone:
:mod:`.state` (pure state machine), :mod:`.engine` (Raft libraries behind one Protocol),
:mod:`.http` (the JSON API), :mod:`.__main__` (wiring).
"""
