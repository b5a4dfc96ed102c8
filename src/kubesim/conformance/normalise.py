"""Normalise answers so that what legitimately differs between two servers compares equal.

* namespace names of the run → ``{ns}``, ``{ns2}``...;
* uids → ``<uid:N>`` (N by first appearance, so owner references and controller-uid labels
  still point at the same object);
* object resourceVersions → ``<rv:N>`` (N by first appearance: "unchanged" and "new" stay
  visible); list, bookmark and Status resourceVersions → ``<rv>``;
* timestamps (any RFC 3339 string) → ``<time>``; generated name suffixes → ``<gen>``;
* continue tokens → ``<continue>`` (or empty); Service cluster IPs and node ports → ``<ip>``,
  ``<port>``; the random suffix of ``kube-api-access-*`` volumes → ``<gen>``;
* ``selfLink`` is dropped.
"""

from __future__ import annotations

import re
from typing import Any

from kubesim.conformance.runner import Answer

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
ACCESS = re.compile(r"kube-api-access-[a-z0-9]{5}")


class Normaliser:
    def __init__(self, namespaces: list[str]) -> None:
        self.namespaces = sorted(
            ((name, "{ns}" if i == 0 else f"{{ns{i + 1}}}") for i, name in enumerate(namespaces)),
            key=lambda pair: -len(pair[0]),
        )
        self.uids: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.generated: dict[str, str] = {}

    def answers(self, answers: list[Answer]) -> list[Answer]:
        return [Answer(a.step, a.request, a.status, self.value(a.body, ())) for a in answers]

    def _uid(self, match: re.Match[str]) -> str:
        return self.uids.setdefault(match.group(0), f"<uid:{len(self.uids) + 1}>")

    def _string(self, text: str) -> str:
        if TIME.match(text):
            return "<time>"
        for name, placeholder in self.namespaces:
            text = text.replace(name, placeholder)
        for full, short in self.generated.items():
            text = text.replace(full, short)
        text = ACCESS.sub("kube-api-access-<gen>", text)
        return UID.sub(self._uid, text)

    def _version(self, value: str) -> str:
        return self.versions.setdefault(value, f"<rv:{len(self.versions) + 1}>")

    def value(self, value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return self._object(value, path)
        if isinstance(value, list):
            return [self.value(v, path) for v in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _object(self, obj: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        meta = obj.get("metadata")
        kind = obj.get("kind", "")
        if isinstance(meta, dict):
            generate = meta.get("generateName")
            name = meta.get("name")
            if isinstance(generate, str) and isinstance(name, str) and name.startswith(generate):
                self.generated.setdefault(name, generate + "<gen>")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            here = (*path, key)
            if key == "selfLink":
                continue
            if key == "resourceVersion" and isinstance(value, str) and value:
                listish = kind.endswith("List") or kind in ("Status", "Table") or not kind
                if path and path[-1] == "metadata" and not listish:
                    out[key] = self._version(value)
                else:
                    out[key] = "<rv>"
                continue
            if key == "continue" and isinstance(value, str):
                out[key] = "<continue>" if value else ""
                continue
            if key in ("clusterIP", "clusterIPs") and value not in (None, "None"):
                out[key] = "<ip>" if isinstance(value, str) else ["<ip>" for _ in value]
                continue
            if key == "nodePort" and isinstance(value, int):
                out[key] = "<port>"
                continue
            out[key] = self.value(value, here)
        # Bookmarks carry only a resourceVersion: keep its presence, not its value.
        if kind and isinstance(meta, dict) and path[-1:] == ("object",):
            pass
        return out
