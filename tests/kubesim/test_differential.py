"""Differential conformance: every request sequence of :mod:`kubesim.conformance.sequences`
runs on kubesim (per test) and on the session's realkube, and the normalised answers may
differ only as listed (with reasons) in :data:`kubesim.conformance.intentional.INTENTIONAL`
(rendered in ``docs/dev/kubesim-fidelity.md``). ``python -m kubesim.conformance`` prints the
same comparison as a report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.conformance import differences
from kubesim.conformance.intentional import INTENTIONAL, markdown
from kubesim.conformance.sequences import SEQUENCES
from kubesim.server import KubeSim
from realkube.client import ssl_context
from tests.support.realkube_thread import RealKubeThread

DOC = Path(__file__).resolve().parents[2] / "docs/dev/kubesim-fidelity.md"


@pytest.mark.realkube
@pytest.mark.parametrize("sequence", SEQUENCES, ids=[s.name for s in SEQUENCES])
async def test_kubesim_answers_like_the_real_server(
    sequence, kubesim: KubeSim, realkube: RealKubeThread
) -> None:
    pki = realkube.cluster.pki
    assert pki is not None
    count, found = await differences(sequence, kubesim.url, realkube.url, ssl_context(pki))
    assert count > 0
    unexpected = [d.describe() for d in found if d.intentional is None]
    assert not unexpected, "\n".join(unexpected)


def test_the_documented_list_is_the_one_the_test_reads() -> None:
    text = DOC.read_text()
    begin, end = "<!-- intentional:begin -->\n", "<!-- intentional:end -->"
    assert begin in text
    assert end in text
    table = text.split(begin, 1)[1].split(end, 1)[0]
    assert table == markdown(), "regenerate with: python -m kubesim.conformance --markdown"
    assert all(f"`{entry.name}`" in text for entry in INTENTIONAL)


def test_sequence_names_are_unique() -> None:
    names = [s.name for s in SEQUENCES]
    assert len(names) == len(set(names))
    assert len(names) >= 25
