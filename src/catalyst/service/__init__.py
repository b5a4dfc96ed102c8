"""Use cases: environments (create/rebuild/delete/read), the background operation runner,
status recompute from the cluster, chart lookup, log streams and API tokens."""
