"""What the tests share, and nothing else: no test lives here, and no test imports another
test module or a conftest (fixtures reach tests through pytest; constants and helpers
through this package).

Waiting
  ``waiting``          every bounded wait: `eventually` (the one polling helper), `bounded`,
                       `StoreWaiter`; a timeout says what was awaited.

Running things
  ``clusters``         `KubeCluster`: kubesim or the session's realkube, ``BOTH_CLUSTERS``.
  ``realkube_thread``  realkube on a loop of its own thread, for the session.
  ``tcp_proxy``        a TCP relay a test can cut (client disconnects on either cluster).
  ``database_servers`` throwaway PostgreSQL and MariaDB servers for the session.
  ``databases``        scratch databases on them; the ``server_databases`` fixture.
  ``live``             a real Catalyst served by uvicorn in the test's loop.
  ``live_api``         driving a live Catalyst and its cluster over HTTP.
  ``live_cluster``     fast watcher settings, the cluster's view of failures, status history.
  ``processes``        ``kubesim serve`` and ``catalyst serve`` replicas as processes.
  ``catalyst_serve``   the ``catalyst`` CLI and ``catalyst serve`` as Patchdemo meets them.
  ``service_harness``  the use cases on a real database with recording cluster doubles.
  ``election``         leader-election candidates whose terms are recorded.
  ``kubectl``          the real ``kubectl`` binary, every call bounded.
  ``threads``          blocking clients (``kubernetes``, Helm SDK) from async tests.

Doubles
  ``api_fakes``        in-memory use cases for the HTTP layer alone.
  ``fake_apiserver``   a scriptable API server for client-level tests.
  ``fake_helm``        a stand-in ``helm`` binary (a script run by path).
  ``scripted_listwatch`` lists and watches answered from queues (reflector, informer).
  ``rawhttp``          raw HTTP/1.1 over a socket.

Builders and data
  ``patchdemo``        Patchdemo's create request, the contract's example body, listing values.
  ``http_api``         API auth headers, bodies and the error-shape assertion.
  ``factories``        cluster objects and sessions for the domain rules' table tests.
  ``renders``          small chart renders (object dicts) for deployer, reader and log tests.
  ``mediawiki_render`` the release and namespace chart tests render as; reading the objects.
  ``chart_packages``   the test charts (``tests/fixtures/charts``) and ``helm package``.
  ``tenancy``          the escalation objects and cluster snapshots of the tenancy tests.
  ``kube_http``        JSON calls and watch streams against kubesim's HTTP API.
  ``manifests``        YAML manifests for kubectl and Helm.
  ``helm_charts``      small Helm charts written into a test's directory.
  ``sim_objects``      object builders and fast rules for the simulator's tests.
"""
