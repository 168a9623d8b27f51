"""kube-controller-manager for chaosplane: Deployment, ReplicaSet and node lifecycle
controllers behind leader election. ``python -m controlplane.controllermanager``."""
