"""Writing a kubeconfig that kubectl, Helm and client libraries accept as is.

The file names one cluster (``server: http://HOST:PORT``, plain HTTP), one user
with a dummy bearer token (kubesim does not authenticate; some clients refuse
a user without credentials), and a context ``kubesim`` that is the current
context. It is written atomically (temp file + rename) with mode 0600, since
kubectl warns about group/world-readable kubeconfigs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

CONTEXT_NAME = "kubesim"
DUMMY_TOKEN = "kubesim-token"


def kubeconfig_dict(server: str, *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT_NAME, "user": {"token": DUMMY_TOKEN}}],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
    }


def write_kubeconfig(path: Path, server: str) -> Path:
    """Write (replace) the kubeconfig at ``path`` pointing at ``server``."""
    return write_private_yaml(path, kubeconfig_dict(server))


def write_private_yaml(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` as YAML to ``path`` atomically (temp file + rename), mode 0600.

    A reader sees the old file or the new one, never a part; a failed write leaves no
    temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, sort_keys=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
