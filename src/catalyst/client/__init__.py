"""The Catalyst API's command-line client (``catalyst env ...``).

`api` (the HTTP client and its errors), `watch` (the watch stream across disconnects and
waiting for a status with it), `output` (tables and JSON), `durations` (``--timeout 10m``),
`values` (``--values FILE|-``), `commands` (the ``env`` parser and handlers). It speaks HTTP
only and imports no service, store or API code.
"""
