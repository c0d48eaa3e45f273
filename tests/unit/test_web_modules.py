"""The page's modules (web/): the model's Node tests."""

import re
import shutil
import subprocess
from pathlib import Path

NODE_TESTS = Path(__file__).resolve().parent / "web"


def test_the_model_s_node_tests_pass():
    node = shutil.which("node")
    assert node, "Node.js (node) is needed to test the page's model (web/model.js)"
    run = subprocess.run([node, "--test", str(NODE_TESTS)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", run.stdout, re.MULTILINE) and "# fail 0" in run.stdout

