"""Patchdemo's current create request (api-contract.md, "Request body details"), for tests.

One definition for every test that plays Patchdemo: the chart tests render it, the store
and listing tests persist it, the end-to-end tests send it (``EXAMPLE_BODY``, the
contract's example body). ``LISTING_VALUES`` are Patchdemo-like values for the listing
tests.
"""

from __future__ import annotations

from typing import Any

PATCHDEMO_VALUES: dict[str, Any] = {
    "mediawikiCore": {
        "branch": "master",
        "ingress": "0123456789.example.org",
        "user": "Patch Demo",
        "password": "patchdemo1",
        "useInstantCommons": True,
        "mainPageText": "...",
        "language": "en",
        "useProxy": False,
        "buildDocs": False,
        "useTempUser": False,
        "patches": [
            {
                "ref": "refs/changes/45/123445/3",
                "base": "master",
                "hash": "0123456789abcdef0123456789abcdef01234567",
            }
        ],
    },
    "extensions": [{"name": "Echo", "enable": True, "branch": "master", "patches": []}],
    "skins": [{"name": "Vector", "enable": True, "branch": "master"}],
    "otherModules": [{"name": "VisualEditor", "enable": True, "branch": "master"}],
}

PATCHDEMO_REQUEST: dict[str, Any] = {
    "name": "wiki-0123456789",
    "chartName": "mediawiki",
    "values": PATCHDEMO_VALUES,
}

# The contract's example create body, as the end-to-end tests send it.
EXAMPLE_BODY = PATCHDEMO_REQUEST

# Patchdemo-like values made harder on purpose: a nested secret under a list item, non-ASCII
# text and a float, so rendering, redaction and JSON round-trips are all exercised.
LISTING_VALUES: dict[str, Any] = {
    "mediawikiCore": {
        "branch": "master",
        "ingress": "0123456789.example.org",
        "user": "Patch Demo",
        "password": "patchdemo1",
        "useInstantCommons": True,
        "mainPageText": "Grüße — ünïcödé",
        "language": "en",
        "patches": [{"ref": "refs/changes/45/123445/3", "base": "master", "hash": "a" * 40}],
    },
    "extensions": [{"name": "Echo", "enable": True, "apiToken": {"nested": 1}}],
    "ratio": 0.25,
}
