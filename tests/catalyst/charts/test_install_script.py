"""The chart's install script, run for real with stub git/composer/apt-get/php/npm.

Proves the progress lines clients read: one "Preparing worktree" per repository, then
"composer install", "apt-get install -y npm" and "Installing Wiki", in that order, from the
ConfigMap the chart actually renders.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.mediawiki_render import NAMESPACE, RELEASE, config_data, one

STUB = """#!/bin/bash
echo "$(basename "$0") $*" >>"$STUB_LOG"
case " $* " in
  *" clone "*) mkdir -p "${@: -1}" ;;
  *" worktree add "*) mkdir -p "${@: -2:1}" ;;
esac
if [ "$(basename "$0")" = php ] && [ "${2:-}" = edit ]; then cat >/dev/null; fi
exit 0
"""


def install_stubs(directory: Path) -> None:
    directory.mkdir()
    for tool in ("git", "apt-get", "composer", "php", "npm"):
        path = directory / tool
        path.write_text(STUB)
        path.chmod(0o755)


async def run_install(tmp_path: Path, objects: list[dict]) -> tuple[int, list[str], str]:
    install_dir = tmp_path / "install"
    install_dir.mkdir()
    for name, text in config_data(objects).items():
        (install_dir / name).write_text(text)
    install_stubs(tmp_path / "stubs")
    container = one(objects, "Job")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    env.update(
        PATH=f"{tmp_path / 'stubs'}:/usr/bin:/bin",
        HOME=str(tmp_path),
        INSTALL_DIR=str(install_dir),
        MW_ROOT=str(tmp_path / "code" / "w"),
        MW_CACHE=str(tmp_path / "code" / "cache"),
        MW_ADMIN_PASSWORD="patchdemo1",
        DB_PASSWORD="db-password",
        STUB_LOG=str(tmp_path / "calls.log"),
    )
    process = await asyncio.create_subprocess_exec(
        "/bin/bash",
        str(install_dir / "install.sh"),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    calls = (tmp_path / "calls.log").read_text()
    return process.returncode or 0, output.decode().splitlines(), calls


def first_index(lines: list[str], marker: str) -> int:
    return next(i for i, line in enumerate(lines) if marker in line)


async def test_install_prints_the_progress_lines_in_order(
    sdk_renderer, mediawiki_chart, patchdemo_values, tmp_path
):
    objects = await sdk_renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values=patchdemo_values
    )

    code, lines, calls = await run_install(tmp_path, objects)

    assert code == 0, "\n".join(lines)
    worktrees = [line for line in lines if "Preparing worktree" in line]
    assert len(worktrees) == 4  # core, Echo, VisualEditor, Vector
    composer = first_index(lines, "composer install")
    npm = first_index(lines, "apt-get install -y npm")
    installing = first_index(lines, "Installing Wiki")
    assert first_index(lines, "Preparing worktree") < composer < npm < installing
    assert "cherry-pick" in calls
    assert "refs/changes/45/123445/3" in calls
    assert "maintenance/run.php install" in calls
    local_settings = (tmp_path / "code" / "w" / "LocalSettings.php").read_text()
    assert "$wgUseInstantCommons = true;" in local_settings


async def test_a_rebuild_updates_instead_of_installing(
    sdk_renderer, mediawiki_chart, patchdemo_values, tmp_path
):
    objects = await sdk_renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values=patchdemo_values
    )
    (tmp_path / "code" / "w").mkdir(parents=True)
    (tmp_path / "code" / "w" / "LocalSettings.php").write_text("<?php\n")

    code, lines, calls = await run_install(tmp_path, objects)

    assert code == 0, "\n".join(lines)
    assert any("Installing Wiki" in line for line in lines)
    assert "maintenance/run.php update" in calls
    assert "maintenance/run.php install" not in calls
    local_settings = tmp_path / "code" / "w" / "LocalSettings.php"
    assert await asyncio.to_thread(local_settings.read_text) == "<?php\n"


async def test_install_with_the_chart_defaults(sdk_renderer, mediawiki_chart, tmp_path):
    objects = await sdk_renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values={}
    )

    code, lines, calls = await run_install(tmp_path, objects)

    assert code == 0, "\n".join(lines)
    assert sum("Preparing worktree" in line for line in lines) == 2  # core and Vector
    assert "cherry-pick" not in calls
    assert "Writing the Main Page" not in "\n".join(lines)
