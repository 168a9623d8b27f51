"""Test doubles in one place, out of the product: what tests and benchmarks stand in with.

In a nutshell: nothing under ``harness/`` outside this package, nor anything in ``controlplane``
or ``linkproxy``, imports it (the import-contract test enforces that), and the images' wheel
holds only ``controlplane`` and ``linkproxy``, so none of it ships in a container. It lives in
the installed package rather than under ``tests/`` because benchmarks (run as scripts) and
users' own checker tests import it too.

- ``fakes``: ``FakeCluster``, in-process HTTP store members and apiservers over one state,
  each able to misbehave (workload tests, ``benchmarks/workload.py``).
- ``nemesis_fakes``: a fake cluster, Toxiproxy and ``nsenter`` network for nemesis tests.
- ``loopback``: ``LoopbackCluster``, real ``python -m controlplane.kvstore`` processes on
  127.0.0.1 (no Docker).
- ``simulate``: histories of an atomic register, linearizable by construction.
- ``synthetic``: whole synthetic run directories for the report and campaign tests.

    from harness.testing.fakes import FakeCluster, Misbehave
"""
