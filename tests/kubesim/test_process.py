"""``kubesim.process``: kubesim serve as a child process for benches and tests."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from kubesim.process import kubesim_process


async def test_child_serves_until_the_block_ends(tmp_path: Path) -> None:
    async with kubesim_process(tmp_path / "kubeconfig") as child:
        async with aiohttp.ClientSession() as session, session.get(f"{child.url}/version") as r:
            assert r.status == 200
            assert (await r.json())["major"] == "1"
        assert child.kubeconfig.exists()
        process = child.process
    assert process.returncode is not None  # stopped at exit


async def test_a_child_that_dies_before_it_is_ready_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited before it was ready"):
        async with kubesim_process(tmp_path / "kubeconfig", rules=tmp_path / "missing.yaml"):
            pass
