"""HelmRenderer with the in-process SDK: errors, scrubbing, filtering, concurrency."""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path

import pytest

from catalyst.charts import ChartRenderError, HelmRenderer, select_backend
from catalyst.charts.helm_binary import HelmBinaryBackend
from catalyst.charts.helm_sdk import HelmSdkBackend
from tests.support.mediawiki_render import NAMESPACE, RELEASE, repository_lines

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Values.suffix | default "cm" }}
  namespace: {{ .Release.Namespace }}
data:
  created: 2024-01-01
"""


def make_chart(root: Path, templates: dict[str, str]) -> Path:
    chart = root / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("suffix: cm\n")
    for name, text in templates.items():
        (chart / "templates" / name).write_text(text)
    return chart


async def render(renderer: HelmRenderer, chart: Path, values: dict | None = None) -> list[dict]:
    return await renderer.render(
        chart, release_name="demo-release", namespace="env-1", values=values or {}
    )


async def test_only_kubernetes_objects_are_returned(sdk_renderer, tmp_path):
    chart = make_chart(
        tmp_path,
        {
            "configmap.yaml": CONFIGMAP + "---\n# only a comment\n---\n",
            "NOTES.txt": "Thanks for installing {{ .Release.Name }}\n",
            "_helpers.tpl": '{{- define "x" -}}y{{- end -}}\n',
            "readme.txt": "not a manifest\n",
            "empty.yaml": "{{- if false }}\nkind: Nothing\n{{- end }}\n",
            "secret.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
                "  namespace: {{ .Release.Namespace }}\nstringData:\n  k: v\n"
            ),
        },
    )
    objects = await render(sdk_renderer, chart)

    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Secret", "s"),
        ("ConfigMap", "demo-release-cm"),
    ]
    # Dates stay strings: every object is plain JSON data.
    assert objects[1]["data"]["created"] == "2024-01-01"


async def test_template_error_is_a_render_error_with_helms_message(sdk_renderer, tmp_path):
    chart = make_chart(tmp_path, {"bad.yaml": "{{ .Values.suffix | nosuchfunction }}\n"})

    with pytest.raises(ChartRenderError) as caught:
        await render(sdk_renderer, chart)
    assert "nosuchfunction" in caught.value.message
    assert caught.value.chart == "demo"


async def test_secret_values_never_reach_the_message(sdk_renderer, tmp_path):
    chart = make_chart(
        tmp_path,
        {
            "fail.yaml": (
                '{{ fail (printf "cannot use %s with %s" .Values.auth.apiToken .Values.user) }}\n'
            )
        },
    )
    values = {"auth": {"apiToken": "s3cr3t-token-value"}, "user": "visible-user"}

    with pytest.raises(ChartRenderError) as caught:
        await render(sdk_renderer, chart, values)
    message = caught.value.message
    assert "s3cr3t-token-value" not in message
    assert "***" in message
    assert "visible-user" in message
    assert "s3cr3t-token-value" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


async def test_a_document_that_is_not_an_object_is_a_render_error(sdk_renderer, tmp_path):
    chart = make_chart(tmp_path, {"odd.yaml": "just: data\n"})

    with pytest.raises(ChartRenderError, match=r"odd\.yaml .*missing apiVersion, kind"):
        await render(sdk_renderer, chart)


async def test_invalid_yaml_output_is_a_render_error(sdk_renderer, tmp_path):
    chart = make_chart(tmp_path, {"broken.yaml": "kind: [unclosed\n"})

    with pytest.raises(ChartRenderError, match=r"YAML parse error on demo/templates/broken\.yaml"):
        await render(sdk_renderer, chart)


async def test_a_broken_chart_is_a_render_error(sdk_renderer, tmp_path):
    chart = tmp_path / "broken"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: [oops\n")

    with pytest.raises(ChartRenderError):
        await render(sdk_renderer, chart)
    with pytest.raises(ChartRenderError):
        await render(sdk_renderer, tmp_path / "does-not-exist")


async def test_invalid_release_name_is_rejected_like_helm_template(sdk_renderer, tmp_path):
    chart = make_chart(tmp_path, {"configmap.yaml": CONFIGMAP})

    with pytest.raises(ChartRenderError, match="invalid release name"):
        await sdk_renderer.render(chart, release_name="Not_Valid", namespace="env-1", values={})


async def test_values_are_not_modified(sdk_renderer, mediawiki_chart, patchdemo_values):
    before = repr(patchdemo_values)
    await sdk_renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values=patchdemo_values
    )
    assert repr(patchdemo_values) == before


async def test_concurrent_renders_each_get_their_own_result(mediawiki_chart, patchdemo_values):
    renderer = HelmRenderer(HelmSdkBackend(), max_concurrent_renders=4)

    async def render_with(extension: str) -> list[dict]:
        values = {**patchdemo_values, "extensions": [{"name": extension, "enable": True}]}
        return await renderer.render(
            mediawiki_chart,
            release_name=f"wiki-{extension.lower()}",
            namespace=NAMESPACE,
            values=values,
        )

    names = [f"Ext{i}" for i in range(12)]
    results = await asyncio.wait_for(asyncio.gather(*(render_with(n) for n in names)), timeout=60)

    for name, objects in zip(names, results, strict=True):
        assert objects[0]["metadata"]["name"].startswith(f"wiki-{name.lower()}")
        assert name in [line[4] for line in repository_lines(objects)]


def test_backend_selection_prefers_a_helm_binary_on_path():
    chosen = select_backend(which=lambda name: f"/opt/bin/{name}" if name == "helm" else None)
    assert isinstance(chosen, HelmBinaryBackend)
    assert chosen.helm == "/opt/bin/helm"


def test_backend_selection_falls_back_to_the_sdk():
    assert isinstance(select_backend(which=lambda name: None), HelmSdkBackend)


def test_an_explicit_helm_binary_that_is_missing_is_an_error():
    with pytest.raises(FileNotFoundError, match="/nowhere/helm"):
        select_backend(helm_binary="/nowhere/helm", which=lambda name: None)


async def test_a_packaged_chart_renders_like_its_directory(sdk_renderer, tmp_path):
    chart = make_chart(tmp_path / "src", {"configmap.yaml": CONFIGMAP})
    archive = tmp_path / "demo-0.1.0.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(chart, arcname="demo")

    assert await render(sdk_renderer, archive) == await render(sdk_renderer, chart)


async def test_a_rebuild_renders_as_helm_upgrade_does(sdk_renderer, tmp_path):
    chart = make_chart(
        tmp_path,
        {
            "release.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\n"
                "data:\n  install: {{ .Release.IsInstall | quote }}\n"
                "  upgrade: {{ .Release.IsUpgrade | quote }}\n"
            )
        },
    )
    (installed,) = await render(sdk_renderer, chart)
    (upgraded,) = await sdk_renderer.render(
        chart, release_name="demo-release", namespace="env-1", values={}, upgrade=True
    )
    assert installed["data"] == {"install": "true", "upgrade": "false"}
    assert upgraded["data"] == {"install": "false", "upgrade": "true"}
