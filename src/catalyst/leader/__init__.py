"""What the replica holding the Lease runs, composed from the other packages.

- ``duties``: ``LeaderDuties``, one term of leadership (sync, reaper and heartbeat as one
  task group, all stopped together);
- ``status_writer``: ``WatchedStatusWriter``, the watcher's observations stored through the
  status use case;
- ``reaper``: ``Reaper``, deletes expired creation failures, never on stale data;
- ``heartbeat``: ``WatcherHeartbeat``, how fresh the leader's data is, for every replica.

The election itself (the Lease) is the cluster adapter's
(`catalyst.cluster.leader_election`); the informers and the status feed are the watcher's
(`catalyst.watcher`); this package is the only one that imports both the watcher and the
service layer.
"""
