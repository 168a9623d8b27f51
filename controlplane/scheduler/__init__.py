"""kube-scheduler for chaosplane: filter, score, bind, behind leader election.
``python -m controlplane.scheduler``."""
