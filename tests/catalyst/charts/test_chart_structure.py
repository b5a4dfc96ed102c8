"""Chart structure: subcharts (folder and ``.tgz``) render, hooks reach the render with
their annotations (both backends), and packaged charts are checked before use."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from catalyst.charts import ChartCatalogue, HelmRenderer
from catalyst.charts import archive as archive_rules
from catalyst.charts.helm_binary import split_helm_output
from catalyst.charts.manifests import objects_from_templates
from tests.support.chart_packages import CHARTS, hooked_chart, package_chart


async def test_subcharts_as_folder_and_tgz_render_with_hooks(
    tmp_path: Path, sdk_renderer: HelmRenderer
) -> None:
    chart = hooked_chart(tmp_path)
    assert (chart / "charts" / "metrics-2.1.0.tgz").is_file()
    objects = await sdk_renderer.render(chart, release_name="h", namespace="env-1", values={})
    by_name = {o["metadata"]["name"]: o for o in objects}
    assert by_name["h-cache"]["data"] == {"size": "small"}
    assert by_name["h-metrics"]["data"] == {"interval": "30s"}
    assert by_name["h-migrate"]["metadata"]["annotations"]["helm.sh/hook"] == (
        "pre-install,pre-upgrade"
    )
    assert by_name["h-test-connection"]["metadata"]["annotations"] == {"helm.sh/hook": "test"}


def test_helm_template_output_keeps_hooks_and_their_annotations() -> None:
    output = (
        "---\n# Source: c/templates/job.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n"
        "  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n"
        '    helm.sh/hook-weight: "-5"\n---\n# Source: c/templates/tests/t.yaml\n'
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n"
        "    helm.sh/hook: test\n"
    )
    objects = objects_from_templates(split_helm_output(output))
    annotations = {o["metadata"]["name"]: o["metadata"]["annotations"] for o in objects}
    assert annotations == {
        "t": {"helm.sh/hook": "test"},
        "migrate": {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-5"},
    }


def test_packaged_and_folder_charts_are_listed_with_their_versions(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    hooked_chart(charts)
    package_chart(CHARTS / "hooked-packed-sub", charts)
    listed = {c.name: (c.version, c.path.name) for c in ChartCatalogue(charts).list()}
    assert listed == {"hooked": ("0.3.0", "hooked"), "metrics": ("2.1.0", "metrics-2.1.0.tgz")}


def _archive(path: Path, members: list[tarfile.TarInfo], data: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        chart = tarfile.TarInfo("bad/Chart.yaml")
        text = b"apiVersion: v2\nname: bad\nversion: 1.0.0\n"
        chart.size = len(text)
        tar.addfile(chart, io.BytesIO(text))
        for member in members:
            tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _file(name: str, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def _link(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([_file("bad/../../escape.yaml")], "outside"),
        ([_file("/etc/cron.d/x")], "outside"),
        ([_file("other/values.yaml")], "not under bad/"),
        ([_link("bad/templates/link.yaml")], "not a regular file"),
    ],
)
def test_unsafe_packaged_charts_are_left_out(
    tmp_path: Path, members: list[tarfile.TarInfo], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    _archive(tmp_path / "charts" / "bad-1.0.0.tgz", members)
    assert ChartCatalogue(tmp_path / "charts").list() == []
    assert reason in caplog.text
    assert not (tmp_path / "escape.yaml").exists()


def test_oversized_archives_are_refused_before_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(archive_rules, "MAX_FILE_BYTES", 1024)
    big = _file("bad/templates/big.yaml", 4096)
    _archive(tmp_path / "charts" / "bad-1.0.0.tgz", [big], b"x" * 4096)
    assert ChartCatalogue(tmp_path / "charts").list() == []
    assert "larger than 1024 bytes" in caplog.text


def test_a_folder_chart_with_an_unsafe_packaged_subchart_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chart = hooked_chart(tmp_path / "charts")
    _archive(chart / "charts" / "bad-1.0.0.tgz", [_file("bad/../../x.yaml")])
    assert ChartCatalogue(tmp_path / "charts").list() == []
    assert "refused chart archive" in caplog.text
