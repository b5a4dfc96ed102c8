"""Differential conformance: the same request sequences sent to kubesim and to a real
kube-apiserver (realkube), their answers normalised and compared.

:data:`~kubesim.conformance.sequences.SEQUENCES` are the sequences,
:func:`~kubesim.conformance.runner.run_sequence` runs one against one server,
:class:`~kubesim.conformance.normalise.Normaliser` removes what legitimately differs,
:func:`~kubesim.conformance.compare.compare` yields the differences, each either listed in
:data:`~kubesim.conformance.intentional.INTENTIONAL` (with its reason) or unexpected.
``python -m kubesim.conformance`` (``kubesim diff``) prints the report.
"""

from __future__ import annotations

import ssl

from kubesim.conformance.compare import Difference, compare
from kubesim.conformance.normalise import Normaliser
from kubesim.conformance.runner import Sequence, delete_namespaces, run_sequence


async def differences(
    sequence: Sequence,
    sim_url: str,
    real_url: str,
    real_ssl: ssl.SSLContext | None,
) -> tuple[int, list[Difference]]:
    """Run ``sequence`` on both servers; the number of compared answers and the differences."""
    sim, sim_ns = await run_sequence(sim_url, None, sequence)
    real, real_ns = await run_sequence(real_url, real_ssl, sequence)
    try:
        a = Normaliser(sim_ns).answers(sim)
        b = Normaliser(real_ns).answers(real)
        return len(a), compare(sequence.name, a, b)
    finally:
        await delete_namespaces(sim_url, None, sim_ns)
        await delete_namespaces(real_url, real_ssl, real_ns)


__all__ = ["Difference", "differences"]
