"""What every controller-layer component shares: the API connection, informers, work queues,
component environment and the ``/status`` server. See ARCHITECTURE.md "Controller layer"."""
