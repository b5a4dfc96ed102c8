"""The embedded default's kubesim rules fit the pods the bundled chart really makes."""

from __future__ import annotations

from importlib.resources import files

from catalyst.embedded import KUBESIM_RULES
from kubesim.sim.rules import load_rules
from tests.support.mediawiki_render import NAMESPACE, RELEASE, one

PROGRESS_MARKERS = (
    "Preparing worktree",
    "composer install",
    "apt-get install -y npm",
    "Installing Wiki",
)


def pod_from_template(obj: dict) -> dict:
    template = obj["spec"]["template"]
    return {"metadata": {**template["metadata"], "namespace": NAMESPACE}, "spec": template["spec"]}


def test_rules_file_is_package_data():
    assert KUBESIM_RULES.is_file()
    assert files("catalyst.embedded").joinpath("kubesim-rules.yaml").is_file()


async def test_install_container_runs_a_few_seconds_printing_progress(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    rules = load_rules(KUBESIM_RULES)
    objects = await sdk_renderer.render(
        mediawiki_chart, release_name=RELEASE, namespace=NAMESPACE, values=patchdemo_values
    )

    install = rules.behaviour(pod_from_template(one(objects, "Job")), "install-mediawiki")
    assert 3 <= install.run_for <= 10
    assert install.fail is None
    logs = (install.logs or "").splitlines()
    positions = [
        next(i for i, line in enumerate(logs) if marker in line) for marker in PROGRESS_MARKERS
    ]
    assert positions == sorted(positions)
    assert sum("Preparing worktree" in line for line in logs) >= 2
    assert "Installing Wiki" not in logs[-1]  # a done line follows

    for kind in ("Deployment", "StatefulSet"):
        pod = pod_from_template(one(objects, kind))
        container = pod["spec"]["containers"][0]["name"]
        behaviour = rules.behaviour(pod, container)
        assert 0.5 <= behaviour.ready_after <= 2, kind
        assert behaviour.logs is None
        assert behaviour.fail is None
