"""libfaketime in the component containers: where the clock-skew fault writes its offset.

In a nutshell: every controller-layer container starts with ``FAKETIME_ENV`` (libfaketime
preloaded, reading a relative offset such as ``+5`` or ``-2 x1.5`` from ``FAKETIME_FILE``,
re-read at most once a second); while the file is absent or says ``+0`` the clock is the
host's. The ``clock-skew`` fault (``harness.nemesis.components``) writes the file with
``docker exec``: no privileges, no restart. Monotonic clocks are left alone, so timeouts and
intervals stay real; only the wall clock (``time.time()``, lease timestamps) moves.

    env = {**FAKETIME_ENV, "CP_NAME": "controller-manager-1"}
"""

from __future__ import annotations

FAKETIME_FILE = "/tmp/chaosplane-faketime"
FAKETIME_LIBRARY = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"  # Debian libfaketime
FAKETIME_ENV = {
    "LD_PRELOAD": FAKETIME_LIBRARY,
    "FAKETIME_TIMESTAMP_FILE": FAKETIME_FILE,
    "FAKETIME_CACHE_DURATION": "1",
    "FAKETIME_DONT_FAKE_MONOTONIC": "1",
}
