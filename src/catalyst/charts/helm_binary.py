"""Rendering with the ``helm`` binary (``helm template``).

The command is ``helm template RELEASE CHART --namespace NS --values FILE``. Values never
go on the command line (they hold passwords, and a command line is visible to every user of
the machine): they are written as JSON (a subset of YAML) to a file readable only by this
user, in a fresh private temporary directory that is removed afterwards.

``helm template`` prints every document after a ``# Source: <template path>`` comment; the
output is split back into ``{template path: text}`` on those comments, so both backends
hand the same shape to the caller. Helm's stderr, minus its ``Error:`` prefix, becomes the
`ChartRenderError` message on a non-zero exit.

The process is killed when the render takes longer than `timeout` seconds or when the
awaiting task is cancelled: no ``helm`` process outlives its render.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from catalyst.charts.errors import ChartRenderError

_SOURCE_LINE = re.compile(r"^# Source: (?P<path>.+?)\s*$", re.MULTILINE)


def helm_template_command(
    helm: str,
    chart: Path,
    *,
    release_name: str,
    namespace: str,
    values_file: Path,
    upgrade: bool = False,
) -> list[str]:
    """The argv that renders `chart` (values come from `values_file` only), as an
    upgrade with ``upgrade``."""
    argv = [
        helm,
        "template",
        release_name,
        str(chart),
        "--namespace",
        namespace,
        "--values",
        str(values_file),
    ]
    return [*argv, "--is-upgrade"] if upgrade else argv


def split_helm_output(output: str) -> dict[str, str]:
    """``{template path: text}`` from ``helm template``'s stdout (see module doc).

    Text before the first ``# Source:`` line (only ``---`` separators in practice) is
    dropped; documents from the same template are joined with ``---`` separators.
    """
    templates: dict[str, list[str]] = {}
    matches = list(_SOURCE_LINE.finditer(output))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(output)
        body = output[match.end() : end]
        # Drop the document separator that introduces the next document.
        body = re.sub(r"\n---\s*$", "\n", body)
        templates.setdefault(match["path"], []).append(body.strip("\n") + "\n")
    return {path: "---\n".join(parts) for path, parts in templates.items()}


def _clean_stderr(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace").strip()
    lines = [line for line in text.splitlines() if not line.startswith("WARNING:")]
    message = "\n".join(lines).strip() or text
    return message.removeprefix("Error: ").strip() or "helm template failed"


def _write_values_file(values: dict[str, Any]) -> tuple[Path, Path]:
    directory = Path(tempfile.mkdtemp(prefix="catalyst-helm-"))  # mode 0700
    values_file = directory / "values.json"
    descriptor = os.open(values_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(values, handle)
    return directory, values_file


class HelmBinaryBackend:
    """Renders charts by running ``helm template``."""

    name = "helm-binary"

    def __init__(self, helm: str, *, timeout: float = 120.0) -> None:
        self.helm = helm
        self.timeout = timeout

    async def render_templates(
        self,
        chart: Path,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        upgrade: bool = False,
    ) -> dict[str, str]:
        directory, values_file = await asyncio.to_thread(_write_values_file, values)
        try:
            argv = helm_template_command(
                self.helm,
                chart,
                release_name=release_name,
                namespace=namespace,
                values_file=values_file,
                upgrade=upgrade,
            )
            stdout = await self._run(argv)
        finally:
            await asyncio.to_thread(shutil.rmtree, directory, True)
        return split_helm_output(stdout.decode("utf-8", errors="replace"))

    async def _run(self, argv: list[str]) -> bytes:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ChartRenderError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            await self._kill(process)
            raise ChartRenderError(
                f"helm template did not finish within {self.timeout:g}s"
            ) from None
        except asyncio.CancelledError:
            await self._kill(process)
            raise
        if process.returncode != 0:
            raise ChartRenderError(_clean_stderr(stderr))
        return stdout

    @staticmethod
    async def _kill(process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        # Reap it so no zombie is left; after SIGKILL this returns at once.
        await process.wait()
