"""The /img/* CloudFront Function (src/edge/image_request.js): its Node tests, the template's copy of it, and its
agreement with the key layout the bucket and RenderFunction read."""

import json
import re
import shutil
import subprocess
from pathlib import Path

from imageservice.config import parse_widths
from imageservice.keys import (
    DELIVERY_PATH,
    DERIVED_FORMATS,
    REQUESTED_FORMATS,
    new_image_id,
    owner_hash,
    parse_derived_key,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "edge" / "image_request.js"
NODE_TESTS = Path(__file__).resolve().parent / "edge"


def node() -> str:
    path = shutil.which("node")
    assert path, "Node.js (node) is needed to test the CloudFront Function as it runs at the edge"
    return path


def test_the_function_s_node_tests_pass():
    run = subprocess.run([node(), "--test", str(NODE_TESTS)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", run.stdout, re.MULTILINE) and "# fail 0" in run.stdout


def test_the_template_deploys_the_file_as_it_is(template):
    code = template["Resources"]["ImageRequestFunction"]["Properties"]["FunctionCode"]
    assert code == {"Fn::Sub": SOURCE.read_text()}, "run scripts/sync_edge_function.py"


def test_the_function_takes_the_formats_and_path_the_api_offers():
    source = SOURCE.read_text()
    (formats,) = re.findall(r"var FORMATS = \[([^\]]*)\];", source)
    assert tuple(re.findall(r"'([a-z]+)'", formats)) == REQUESTED_FORMATS
    assert f"'{DELIVERY_PATH}/' + match[1]" in source


def test_the_only_substitution_is_the_widths_parameter(template):
    assert set(re.findall(r"\$\{([^}]*)\}", SOURCE.read_text())) == {"Widths"}
    parse_widths(template["Parameters"]["Widths"]["Default"])  # the function and the functions read the same list


def test_every_uri_the_function_makes_is_a_derived_key_in_the_layout(template):
    """Run the function on each format and Accept it turns into one; the bucket and RenderFunction read the result."""
    widths = template["Parameters"]["Widths"]["Default"]
    image_id = new_image_id()
    cases = [(f"/img/{image_id}/640.{fmt}", accept) for fmt in ("avif", "webp", "jpeg", "png")
             for accept in ("*/*",)] + [(f"/img/{image_id}/640.auto", accept)
                                         for accept in ("image/avif", "image/webp", "*/*")]
    script = """
        const fs = require('fs'), vm = require('vm');
        const context = vm.createContext({});
        vm.runInContext(fs.readFileSync(process.argv[1], 'utf8').split('${Widths}').join(process.argv[2]), context);
        const cases = JSON.parse(process.argv[3]);
        console.log(JSON.stringify(cases.map(([uri, accept]) => context.handler(
            {request: {method: 'GET', uri, querystring: {}, headers: {accept: {value: accept}}, cookies: {}}}).uri)));
    """
    run = subprocess.run([node(), "-e", script, str(SOURCE), widths, json.dumps(cases)],
                         capture_output=True, text=True, timeout=60, check=True)
    uris = json.loads(run.stdout)
    parsed = [parse_derived_key(uri[1:]) for uri in uris]
    assert all(parsed), uris
    assert {found.format for found in parsed} == set(DERIVED_FORMATS)
    assert {(image_id, 640, None)} == {(found.image_id, found.width, found.owner) for found in parsed}


def test_an_owner_path_becomes_the_owner_s_derived_key(template):
    """Signed in, the URI keeps the owner the signed cookie admitted: the bucket and RenderFunction read it."""
    widths = template["Parameters"]["Widths"]["Default"]
    image_id, owner = new_image_id(), owner_hash("alice")
    script = """
        const fs = require('fs'), vm = require('vm');
        const context = vm.createContext({});
        vm.runInContext(fs.readFileSync(process.argv[1], 'utf8').split('${Widths}').join(process.argv[2]), context);
        console.log(context.handler({request: {method: 'GET', uri: process.argv[3], querystring: {},
                                               headers: {accept: {value: 'image/webp'}}, cookies: {}}}).uri);
    """
    run = subprocess.run([node(), "-e", script, str(SOURCE), widths, f"/img/{owner}/{image_id}/320.auto"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert parse_derived_key(run.stdout.strip()[1:]) == (image_id, 320, "webp", owner)
