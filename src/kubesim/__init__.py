"""kubesim: a Kubernetes API emulator and workload simulator for tests and local development."""
