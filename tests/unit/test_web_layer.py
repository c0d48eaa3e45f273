"""web/ reaches PublishFunction as a layer built by sam build, never through a symbolic link (a checkout
without symlink support, Windows' default, turns one into a text file and the publisher finds no page)."""

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import publisher
import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.template_render import TEMPLATE_PATH, transform

ROOT = TEMPLATE_PATH.parent
LAMBDA_LAYERS_ROOT = Path("/opt")  # where Lambda extracts a function's layers


def source_template() -> dict:
    return yaml_parse(TEMPLATE_PATH.read_text())


@pytest.fixture(scope="module")
def publish_app():
    spec = importlib.util.spec_from_file_location("publish_app_under_test", ROOT / "src" / "publish" / "publish_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_symbolic_link_is_tracked_or_packaged():
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in tracked.splitlines() if line.startswith("120000 ")]
    assert links == []
    packaged = [path for path in (ROOT / "src").rglob("*") if path.is_symlink()]
    assert packaged == []


def test_the_layer_build_puts_the_page_where_the_publisher_reads_it(publish_app, tmp_path):
    """What sam build does for WebLayer (BuildMethod makefile): copy its ContentUri to a scratch directory and
    run `make build-WebLayer` there with ARTIFACTS_DIR, the layer's content, which Lambda extracts into /opt."""
    declared = source_template()["Resources"]["WebLayer"]
    assert declared["Properties"]["ContentUri"] == "web/"
    assert declared["Metadata"]["BuildMethod"] == "makefile"
    makefile = ROOT / declared["Metadata"]["ContextPath"] / "Makefile"
    scratch, artifacts = tmp_path / "scratch", tmp_path / "opt"
    shutil.copytree(ROOT / declared["Properties"]["ContentUri"], scratch)
    subprocess.run(["make", "--makefile", str(makefile), "build-WebLayer"], cwd=scratch, check=True,
                   env={**os.environ, "ARTIFACTS_DIR": str(artifacts)}, capture_output=True)

    served = artifacts / publish_app.WEB_DIR.relative_to(LAMBDA_LAYERS_ROOT)
    published = {file.key: file.md5 for file in publisher.local_files(served)}
    assert published == {file.key: file.md5 for file in publisher.local_files(ROOT / "web")}
    assert "index.html" in published


def test_a_changed_page_reaches_the_publisher_and_publishes_again():
    """A changed page is a new WebLayer package, hence a new layer version, a new PublishFunction version and a
    new ContentVersion: the one change that makes CloudFormation send WebsitePublication an Update."""
    template = source_template()
    versions = []
    for package in ("s3://artifacts/web-1111.zip", "s3://artifacts/web-2222.zip"):
        template["Resources"]["WebLayer"]["Properties"]["ContentUri"] = package
        resources = transform(template)["Resources"]
        layer_keys = [resources[layer["Ref"]]["Properties"]["Content"]["S3Key"]
                      for layer in resources["PublishFunction"]["Properties"]["Layers"]]
        assert package.rsplit("/", 1)[1] in layer_keys
        versions.append(resources["WebsitePublication"]["Properties"]["ContentVersion"]["Ref"])
    assert versions[0] != versions[1]
