"""The kubeconfig realkube writes: one cluster, one user, one context, all inline.

``server: https://127.0.0.1:PORT`` with the cluster CA as ``certificate-authority-data`` and
the admin client certificate and key as ``client-certificate-data``/``client-key-data``, so
the file alone is enough for kubectl, Helm (client-go), ``kubernetes_asyncio`` and the
official ``kubernetes`` client, wherever it is copied. The context is named ``realkube`` and
is current. Written atomically (temp file + rename) with mode 0600.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from kubesim.kubeconfig import write_private_yaml
from realkube.pki import Pki

CONTEXT_NAME = "realkube"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig_dict(server: str, pki: Pki, *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": CONTEXT_NAME,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_crt)},
            }
        ],
        "users": [
            {
                "name": CONTEXT_NAME,
                "user": {
                    "client-certificate-data": _b64(pki.admin_crt),
                    "client-key-data": _b64(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
    }


def write_kubeconfig(path: Path, server: str, pki: Pki) -> Path:
    """Write (replace) the kubeconfig at ``path`` for ``server``."""
    return write_private_yaml(path, kubeconfig_dict(server, pki))
