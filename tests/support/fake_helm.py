"""A stand-in for the ``helm`` binary (none can be installed here) used by the tests.

It behaves like ``helm template RELEASE CHART --namespace NS --values FILE``: it renders with
the same Helm engine (the SDK wheel) and prints the documents the way ``helm template``
does, each after a ``# Source:`` comment. It also records what it was given in the JSON file
named by $FAKE_HELM_LOG, and misbehaves on request through $FAKE_HELM_MODE
(``fail``: exit 1 quoting the values on stderr; ``hang``: never finish).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    values_file = argv[argv.index("--values") + 1]
    with open(values_file, encoding="utf-8") as handle:
        values = json.load(handle)
    record = {
        "argv": argv,
        "pid": os.getpid(),
        "values_file": values_file,
        "values_mode": stat.S_IMODE(os.stat(values_file).st_mode),
        "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(values_file)).st_mode),
        "values": values,
    }
    with open(os.environ["FAKE_HELM_LOG"], "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    mode = os.environ.get("FAKE_HELM_MODE", "")
    if mode == "hang":
        time.sleep(3600)
    if mode == "fail":
        sys.stderr.write(f"WARNING: ignored\nError: cannot render with {json.dumps(values)}\n")
        return 1

    import helm_python as helm

    release, chart = argv[1], argv[2]
    namespace = argv[argv.index("--namespace") + 1]
    with helm.Chart.load(chart) as loaded:
        templates = loaded.render(values, name=release, namespace=namespace)
    for path in sorted(templates):
        if path.endswith("NOTES.txt"):
            continue
        for document in templates[path].split("\n---"):
            if document.strip():
                sys.stdout.write(f"---\n# Source: {path}\n{document.strip()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
