"""Catalyst: short-lived test environments on Kubernetes with push-based status."""
