"""linkproxy: a Toxiproxy-2.x-compatible TCP proxy with a REST API (asyncio only).

In a nutshell: ``python -m linkproxy --host 0.0.0.0 --port 8474 [--seed N]`` serves Toxiproxy's
REST API; each proxy forwards TCP from ``listen`` to ``upstream`` through a live-swappable chain
of toxics per direction. Runtime dependencies: the standard library only (its start no longer
waits for aiohttp's import, seconds on a loaded runner); it imports nothing of ``harness``.
Modules: ``toxics`` (specs and stages), ``pipe`` (one direction), ``proxy`` (listener and
connections), ``collection`` (create/update/populate rules), ``httpserver`` (a small HTTP/1.1
server), ``api`` (routes), ``server`` (foreground and background-thread runners).

    from linkproxy.server import ServerThread
    with ServerThread(seed=1) as server: ...
"""

__version__ = "0.1.0"
