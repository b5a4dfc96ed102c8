"""The chart catalogue: listing, defaults, unknown names, broken and packaged charts."""

from __future__ import annotations

import asyncio
import os
import tarfile
from pathlib import Path

import pytest

from catalyst.charts import ChartCatalogue, ChartNotInCatalogue, bundled_charts_dir


def write_chart(directory: Path, name: str, version: str = "1.0.0", values: str = "a: 1\n") -> Path:
    directory.mkdir(parents=True)
    (directory / "Chart.yaml").write_text(
        f"apiVersion: v2\nname: {name}\nversion: {version}\ndescription: The {name} chart\n"
    )
    (directory / "values.yaml").write_text(values)
    return directory


def test_bundled_catalogue_offers_mediawiki_with_name_keyed_components():
    catalogue = ChartCatalogue(bundled_charts_dir())

    listed = {info.name: info for info in catalogue.list()}
    assert "mediawiki" in listed
    assert listed["mediawiki"].description
    chart = catalogue.get("mediawiki")
    assert chart.path == bundled_charts_dir() / "mediawiki"
    assert chart.app_version
    for key in ("extensions", "skins", "otherModules"):
        components = chart.default_values[key]
        assert isinstance(components, dict), key
        assert components, key
        for name, settings in components.items():
            assert isinstance(name, str)
            assert isinstance(settings, dict)
    offered = set(chart.default_values["extensions"]) | set(chart.default_values["otherModules"])
    assert {"Echo", "VisualEditor"} <= offered
    assert "Vector" in chart.default_values["skins"]


def test_unknown_chart_is_chart_not_found(tmp_path):
    with pytest.raises(ChartNotInCatalogue) as caught:
        ChartCatalogue(tmp_path).get("nope")
    assert caught.value.name == "nope"
    assert "nope" in str(caught.value)


def test_charts_are_named_by_chart_yaml_and_sorted(tmp_path):
    write_chart(tmp_path / "zzz", "alpha")
    write_chart(tmp_path / "aaa", "beta", version="2.1.0")
    (tmp_path / "not-a-chart").mkdir()

    catalogue = ChartCatalogue(tmp_path)
    assert [(c.name, c.version, c.description) for c in catalogue.list()] == [
        ("alpha", "1.0.0", "The alpha chart"),
        ("beta", "2.1.0", "The beta chart"),
    ]


def test_a_broken_chart_does_not_hide_the_others(tmp_path, caplog):
    write_chart(tmp_path / "good", "good")
    broken = write_chart(tmp_path / "broken", "broken")
    (broken / "values.yaml").write_text("a: [unclosed\n")

    assert [c.name for c in ChartCatalogue(tmp_path).list()] == ["good"]
    assert "broken" in caplog.text


def test_defaults_are_private_copies(tmp_path):
    write_chart(tmp_path / "c", "c", values="nested: {x: 1}\n")
    catalogue = ChartCatalogue(tmp_path)

    catalogue.get("c").default_values["nested"]["x"] = 2
    catalogue.list()[0].default_values["nested"]["x"] = 3
    assert catalogue.get("c").default_values == {"nested": {"x": 1}}


def test_a_changed_chart_is_read_again(tmp_path):
    chart = write_chart(tmp_path / "c", "c", values="a: 1\n")
    catalogue = ChartCatalogue(tmp_path)
    assert catalogue.get("c").default_values == {"a": 1}

    (chart / "values.yaml").write_text("a: 22\n")
    # Same size is possible for a real edit; make the modification time differ for sure.
    stat = (chart / "values.yaml").stat()
    os.utime(chart / "values.yaml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert catalogue.get("c").default_values == {"a": 22}


def test_packaged_charts_are_listed(tmp_path):
    source = write_chart(tmp_path / "src" / "packed", "packed", version="0.4.0")
    archive = tmp_path / "charts" / "packed-0.4.0.tgz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="packed")

    info = ChartCatalogue(tmp_path / "charts").get("packed")
    assert (info.version, info.path, info.default_values) == ("0.4.0", archive, {"a": 1})


def test_missing_directory_is_an_empty_catalogue(tmp_path):
    assert ChartCatalogue(tmp_path / "absent").list() == []


async def test_catalogue_is_safe_from_many_threads(tmp_path):
    for index in range(5):
        write_chart(tmp_path / f"c{index}", f"chart{index}")
    catalogue = ChartCatalogue(tmp_path)

    results = await asyncio.wait_for(
        asyncio.gather(*(asyncio.to_thread(catalogue.list) for _ in range(20))), timeout=30
    )
    assert {len(listed) for listed in results} == {5}
