"""The bundled mediawiki chart rendered by real Helm (the SDK), for every request shape."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from catalyst.charts import ChartRenderError, HelmRenderer
from tests.support.mediawiki_render import (
    NAMESPACE,
    RELEASE,
    by_kind,
    config_data,
    one,
    repository_lines,
)


async def render(renderer: HelmRenderer, chart: Path, values: dict[str, Any]) -> list[dict]:
    return await renderer.render(chart, release_name=RELEASE, namespace=NAMESPACE, values=values)


def install_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    job = one(objects, "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


async def test_patchdemo_request_renders_every_kind(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    objects = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "Ingress",
            "Job",
            "PersistentVolumeClaim",
            "Secret",
            "Service",
            "Service",
            "StatefulSet",
        ]
    )
    for obj in objects:
        assert obj["metadata"]["namespace"] == NAMESPACE
        assert obj["metadata"]["name"].startswith(RELEASE)
        assert "helm.sh/hook" not in (obj["metadata"].get("annotations") or {})
    # Helm's install order: the Secret and ConfigMap come before the workloads using them.
    order = [obj["kind"] for obj in objects]
    assert order.index("Secret") < order.index("Deployment") < order.index("Job")

    database = one(objects, "StatefulSet")
    (claim,) = database["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert database["spec"]["serviceName"] in [
        s["metadata"]["name"] for s in by_kind(objects, "Service")
    ]

    ingress = one(objects, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "0123456789.example.org"

    container = install_container(objects)
    assert container["name"] == "install-mediawiki"
    job_pod = one(objects, "Job")["spec"]["template"]
    assert job_pod["metadata"]["labels"]["app.kubernetes.io/component"] == "install"
    assert job_pod["spec"]["restartPolicy"] == "Never"


async def test_arrays_select_exactly_the_requested_components(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    objects = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    repositories = {line[1]: line for line in repository_lines(objects)}
    assert list(repositories) == [
        "mediawiki/core",
        "mediawiki/extensions/Echo",
        "mediawiki/extensions/VisualEditor",
        "mediawiki/skins/Vector",
    ]
    # VisualEditor is an "other module": its repository and submodules come from the chart.
    assert repositories["mediawiki/extensions/VisualEditor"][5] == "true"
    assert config_data(objects)["patches.tsv"].strip() == ".\trefs/changes/45/123445/3"


async def test_secrets_are_in_a_secret_not_in_plain_env(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    objects = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    secret = one(objects, "Secret")
    assert base64.b64decode(secret["data"]["admin-password"]).decode() == "patchdemo1"
    assert len(base64.b64decode(secret["data"]["database-password"])) == 32
    env = env_of(install_container(objects))
    assert env["MW_ADMIN_PASSWORD"] == {
        "secretKeyRef": {"name": secret["metadata"]["name"], "key": "admin-password"}
    }
    for obj in objects:
        if obj["kind"] != "Secret":
            assert "patchdemo1" not in str(obj)


async def test_database_password_is_stable_across_renders(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    first = await render(sdk_renderer, mediawiki_chart, patchdemo_values)
    patchdemo_values["extensions"].append({"name": "Cite", "enable": True})
    second = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    assert one(first, "Secret")["data"] == one(second, "Secret")["data"]
    # A changed install gets a new Job (a Job's pod template cannot be changed in place).
    assert one(first, "Job")["metadata"]["name"] != one(second, "Job")["metadata"]["name"]


@pytest.mark.parametrize(
    "change",
    [
        {"podAnnotations": {"sim.kubesim.io/fail": "CrashLoopBackOff"}},
        {"podLabels": {"example.org/team": "qa"}},
        {"resources": {"requests": {"cpu": "100m"}}},
        {"gerrit": {"url": "https://gerrit.example.org/r"}},
        {"database": {"user": "wiki"}},
    ],
    ids=["podAnnotations", "podLabels", "resources", "gerrit", "database-user"],
)
async def test_any_change_of_the_install_pod_template_gets_a_new_job(
    sdk_renderer, mediawiki_chart, patchdemo_values, change
):
    # A real API server refuses a changed pod template of an existing Job ("field is
    # immutable"), so a rebuild that changes anything the template reads needs a new name.
    first = one(await render(sdk_renderer, mediawiki_chart, patchdemo_values), "Job")
    patchdemo_values.update(change)
    second = one(await render(sdk_renderer, mediawiki_chart, patchdemo_values), "Job")
    assert first["spec"]["template"] != second["spec"]["template"]
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_older_name_keyed_maps_merge_with_the_defaults(sdk_renderer, mediawiki_chart):
    values = {
        "mediawikiCore": {"branch": "REL1_43", "password": "hunter2hunter2"},
        "extensions": {
            "Echo": {"enable": True, "branch": "REL1_43", "patches": ["refs/changes/1/1/1"]}
        },
        "skins": {"Vector": {"enable": False}, "Timeless": {"enable": True}},
        "otherModules": {"Parsoid": {"enable": True}},
    }
    objects = await render(sdk_renderer, mediawiki_chart, values)

    lines = repository_lines(objects)
    assert [(line[0], line[2]) for line in lines] == [
        (".", "REL1_43"),
        ("extensions/Echo", "REL1_43"),
        ("services/parsoid", "master"),
        ("skins/Timeless", "master"),
    ]
    assert "extensions/Echo\trefs/changes/1/1/1" in config_data(objects)["patches.tsv"]


async def test_string_booleans_are_understood(sdk_renderer, mediawiki_chart, patchdemo_values):
    patchdemo_values["mediawikiCore"].update(useInstantCommons="false", useTempUser="true")
    patchdemo_values["extensions"] = [
        {"name": "Echo", "enable": "true"},
        {"name": "Cite", "enable": "false"},
        {"name": "TemplateData", "use": "true"},
        {"name": "CodeEditor", "enable": True, "use": "false"},
    ]
    objects = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    names = [line[4] for line in repository_lines(objects)]
    assert "Echo" in names
    assert "TemplateData" in names
    assert "Cite" not in names
    assert "CodeEditor" not in names
    env = env_of(install_container(objects))
    assert env["MW_USE_INSTANT_COMMONS"] == "false"
    assert env["MW_USE_TEMP_USER"] == "true"


async def test_empty_values_render_the_defaults(sdk_renderer, mediawiki_chart):
    objects = await render(sdk_renderer, mediawiki_chart, {})

    assert [line[4] for line in repository_lines(objects)] == ["core", "Vector"]
    ingress = one(objects, "Ingress")
    assert "host" not in ingress["spec"]["rules"][0]


async def test_pod_overrides_apply_to_every_workload(
    sdk_renderer, mediawiki_chart, patchdemo_values
):
    patchdemo_values.update(
        podAnnotations={"example.org/team": "qa"},
        podLabels={"example.org/cost-centre": "wiki"},
        resources={"requests": {"cpu": "100m"}},
        web={
            "image": {
                "repository": "registry.example.org/mediawiki",
                "tag": "1.44",
                "pullPolicy": "Always",
            },
            "resources": {"limits": {"memory": "1Gi"}},
        },
        database={"image": {"repository": "registry.example.org/mariadb", "tag": "11.8"}},
        install={"image": {"repository": "registry.example.org/mw-install", "tag": "7"}},
    )
    objects = await render(sdk_renderer, mediawiki_chart, patchdemo_values)

    images = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        pod = one(objects, kind)["spec"]["template"]
        assert pod["metadata"]["annotations"]["example.org/team"] == "qa"
        assert pod["metadata"]["labels"]["example.org/cost-centre"] == "wiki"
        (container,) = pod["spec"]["containers"]
        images[kind] = container["image"]
        expected = (
            {"limits": {"memory": "1Gi"}} if kind == "Deployment" else {"requests": {"cpu": "100m"}}
        )
        assert container["resources"] == expected
    assert images == {
        "Deployment": "registry.example.org/mediawiki:1.44",
        "StatefulSet": "registry.example.org/mariadb:11.8",
        "Job": "registry.example.org/mw-install:7",
    }
    assert (
        one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
        == "Always"
    )


async def test_names_stay_valid_for_the_longest_release_name(sdk_renderer, mediawiki_chart):
    release = "w" * 53
    objects = await sdk_renderer.render(
        mediawiki_chart, release_name=release, namespace=NAMESPACE, values={}
    )

    for obj in objects:
        assert len(obj["metadata"]["name"]) <= 63
    # A StatefulSet's name must leave room for its controller-revision-hash label.
    assert len(one(objects, "StatefulSet")["metadata"]["name"]) <= 52


async def test_values_the_schema_rejects_give_a_render_error(sdk_renderer, mediawiki_chart):
    with pytest.raises(ChartRenderError) as caught:
        await render(sdk_renderer, mediawiki_chart, {"extensions": "Echo"})
    assert "extensions" in caught.value.message


async def test_ingress_options(sdk_renderer, mediawiki_chart, patchdemo_values):
    patchdemo_values["ingress"] = {
        "className": "traefik",
        "tlsSecretName": "wildcard-tls",
        "annotations": {"example.org/x": "1"},
    }
    ingress = one(await render(sdk_renderer, mediawiki_chart, patchdemo_values), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["0123456789.example.org"], "secretName": "wildcard-tls"}
    ]
    assert ingress["metadata"]["annotations"] == {"example.org/x": "1"}

    patchdemo_values["ingress"] = {"enabled": "false"}
    assert by_kind(await render(sdk_renderer, mediawiki_chart, patchdemo_values), "Ingress") == []
