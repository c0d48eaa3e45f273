"""The page's modules (web/): the model's Node tests, and app.js staying a composition root."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_TESTS = Path(__file__).resolve().parent / "web"
APP = ROOT / "web" / "app.js"


def test_the_model_s_node_tests_pass():
    node = shutil.which("node")
    assert node, "Node.js (node) is needed to test the page's model (web/model.js)"
    run = subprocess.run([node, "--test", str(NODE_TESTS)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", run.stdout, re.MULTILINE) and "# fail 0" in run.stdout


def test_app_js_only_wires_the_modules_together():
    # The DOM lookups and listeners belong to the view modules; a root that grows them grows back into
    # the 489-line app.js this replaced.
    source = APP.read_text()
    assert not re.findall(r"getElementById|querySelector|addEventListener|\.on[a-z]+ =", source)
    assert len(source.splitlines()) <= 60
