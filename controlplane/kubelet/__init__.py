"""A simulated kubelet (kwok-style) for chaosplane. ``python -m controlplane.kubelet``."""
