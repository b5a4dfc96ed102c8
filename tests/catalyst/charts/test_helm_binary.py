"""The ``helm template`` backend, driven through a stand-in binary (`tests.support.fake_helm`)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from catalyst.charts import ChartRenderError, HelmRenderer
from catalyst.charts.helm_binary import (
    HelmBinaryBackend,
    helm_template_command,
    split_helm_output,
)
from tests.support import fake_helm
from tests.support.mediawiki_render import NAMESPACE, RELEASE, one, repository_lines

FAKE_HELM = Path(fake_helm.__file__)


@pytest.fixture
def helm_binary(tmp_path, monkeypatch) -> tuple[str, Path]:
    """An executable `helm` that runs `tests.support.fake_helm` with this interpreter, and its
    log file."""
    executable = tmp_path / "bin" / "helm"
    executable.parent.mkdir()
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_HELM}" "$@"\n')
    executable.chmod(0o755)
    log = tmp_path / "fake-helm.json"
    monkeypatch.setenv("FAKE_HELM_LOG", str(log))
    monkeypatch.delenv("FAKE_HELM_MODE", raising=False)
    return str(executable), log


def test_command_passes_values_only_through_a_file():
    argv = helm_template_command(
        "/usr/bin/helm",
        Path("/charts/mediawiki"),
        release_name="r",
        namespace="env-1",
        values_file=Path("/tmp/x/values.json"),
    )
    assert argv == [
        "/usr/bin/helm",
        "template",
        "r",
        "/charts/mediawiki",
        "--namespace",
        "env-1",
        "--values",
        "/tmp/x/values.json",
    ]


def test_a_rebuild_renders_with_helms_upgrade_flag():
    argv = helm_template_command(
        "/usr/bin/helm",
        Path("/charts/mediawiki"),
        release_name="r",
        namespace="env-1",
        values_file=Path("/tmp/x/values.json"),
        upgrade=True,
    )
    assert argv[-1] == "--is-upgrade"
    assert argv.count("--is-upgrade") == 1


def test_split_helm_output_groups_documents_by_template():
    output = (
        "---\n# Source: c/templates/a.yaml\nkind: A\n"
        "---\n# Source: c/templates/b.yaml\nkind: B1\n"
        "---\n# Source: c/templates/b.yaml\nkind: B2\n"
    )
    assert split_helm_output(output) == {
        "c/templates/a.yaml": "kind: A\n",
        "c/templates/b.yaml": "kind: B1\n---\nkind: B2\n",
    }


async def test_renders_the_mediawiki_chart_through_the_binary(
    helm_binary, mediawiki_chart, patchdemo_values
):
    executable, log = helm_binary
    renderer = HelmRenderer(HelmBinaryBackend(executable, timeout=60))

    objects = await renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values=patchdemo_values
    )

    assert one(objects, "Job")["spec"]["template"]["spec"]["containers"][0]["name"] == (
        "install-mediawiki"
    )
    assert [line[4] for line in repository_lines(objects)] == [
        "core",
        "Echo",
        "VisualEditor",
        "Vector",
    ]
    record = json.loads(log.read_text())
    assert record["argv"][:4] == ["template", RELEASE, str(mediawiki_chart), "--namespace"]
    assert "patchdemo1" not in " ".join(record["argv"])
    assert record["values"] == patchdemo_values
    assert record["values_mode"] == 0o600
    assert record["dir_mode"] == 0o700
    assert not await asyncio.to_thread(Path(record["values_file"]).exists)


async def test_a_failing_helm_gives_its_message_without_secrets(
    helm_binary, mediawiki_chart, monkeypatch
):
    executable, _ = helm_binary
    monkeypatch.setenv("FAKE_HELM_MODE", "fail")
    renderer = HelmRenderer(HelmBinaryBackend(executable, timeout=60))

    with pytest.raises(ChartRenderError) as caught:
        await renderer.render(
            mediawiki_chart,
            release_name=RELEASE,
            namespace=NAMESPACE,
            values={"mediawikiCore": {"password": "topsecret99"}, "note": "shown"},
        )
    message = caught.value.message
    assert message.startswith("cannot render with")
    assert "WARNING" not in message
    assert "Error:" not in message
    assert "topsecret99" not in message
    assert "shown" in message


async def test_a_hanging_helm_is_killed_at_the_timeout(helm_binary, mediawiki_chart, monkeypatch):
    executable, log = helm_binary
    monkeypatch.setenv("FAKE_HELM_MODE", "hang")
    renderer = HelmRenderer(HelmBinaryBackend(executable, timeout=2.0))

    with pytest.raises(ChartRenderError, match="did not finish within 2s"):
        await asyncio.wait_for(
            renderer.render(mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values={}),
            timeout=30,
        )
    pid = json.loads(log.read_text())["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_missing_binary_is_a_render_error(tmp_path, mediawiki_chart):
    renderer = HelmRenderer(HelmBinaryBackend(str(tmp_path / "no-helm")))

    with pytest.raises(ChartRenderError, match="cannot run"):
        await renderer.render(mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values={})
