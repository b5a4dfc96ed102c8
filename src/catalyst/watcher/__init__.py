"""Informers that push cluster state into Catalyst (client-go ``tools/cache`` in asyncio).

One concept per module:

- ``backoff``: the reflector's exponential backoff with jitter and reset (k8s-semantics A7).
- ``indexer``: the local cache of objects with named indexes (A14).
- ``workqueue``: the status sync's queue of environments to evaluate (coalescing, in
  first-added order, never two workers on one key, delayed re-adds).
- ``reflector``: list, then watch from the list's resourceVersion; bookmarks, relist after
  410 Gone, watch-list.
- ``status_sync``: the status feed; hands each environment to evaluate to a
  ``StatusWriter`` (the leader's), and imports no service code.
"""
