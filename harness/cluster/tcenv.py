"""testcontainers set up for a machine with no registry; import this before testcontainers.

In a nutshell: Ryuk is off (its image cannot be pulled; our own reaper does its job), the
connection mode is ``docker_host`` with ``TC_HOST=127.0.0.1`` (this host has ``/.dockerenv``,
which would otherwise make testcontainers talk to a bridge gateway), and the hub prefix is
unset (it would rename every image into a registry path and trigger a pull) — in the
environment and, when testcontainers was imported first, in its config object too.

    from harness.cluster import tcenv  # noqa: F401  (side effect: environment prepared)
"""

from __future__ import annotations

import os


def prepare() -> None:
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    os.environ["TESTCONTAINERS_CONNECTION_MODE"] = "docker_host"
    os.environ["TC_HOST"] = "127.0.0.1"
    os.environ.pop("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", None)
    # testcontainers reads some of these once, when it is first imported; if someone imported
    # it before us, set its configuration object directly as well.
    from testcontainers.core.config import testcontainers_config as config

    config.ryuk_disabled = True
    config.hub_image_name_prefix = ""
    config.tc_host_override = "127.0.0.1"


prepare()
