"""What a function ships must be what the tests ran: the SDK features its code relies on included."""

import json
import re
from pathlib import Path

import boto3
from botocore.session import Session

ROOT = Path(__file__).resolve().parents[2]


def test_process_function_ships_the_sdk_whose_conditional_writes_it_uses():
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "src/process/requirements.txt").read_text(), re.M))
    assert pins.get("boto3") == boto3.__version__
    # Its writes: processing's own, and the manifest's through the shared layer's records module.
    source = "".join((ROOT / path).read_text() for path in ("src/process/processing.py",
                                                            "src/shared/imageservice/records.py"))
    model = Session().get_service_model("s3")
    for operation, parameter in (("PutObject", "IfNoneMatch"), ("PutObject", "IfMatch"), ("DeleteObject", "IfMatch")):
        assert f"{parameter}=" in source
        assert parameter in model.operation_model(operation).input_shape.members


def test_no_two_functions_or_the_layer_share_a_module_name(template):
    """Lambda gives each function only its own folder and the layer, but pytest, the editors (pyrightconfig.json)
    and the scripts (repo_paths) put them all on one path: a name in two of them would make the order decide."""
    import repo_paths

    folders = [repo_paths.SHARED_LAYER, *(repo_paths.function_dir(name) for name in repo_paths.FUNCTIONS)]
    seen: dict[str, Path] = {}
    for folder in folders:
        for entry in folder.iterdir():
            name = entry.stem if entry.suffix == ".py" else entry.name if (entry / "__init__.py").exists() else None
            if name is None:
                continue
            assert name not in seen, f"{name} is in both {seen[name]} and {folder}"
            seen[name] = folder
    code_uris = {resource["Properties"]["CodeUri"].rstrip("/") for resource in template["Resources"].values()
                 if resource["Type"] == "AWS::Serverless::Function"}
    assert code_uris == {f"src/{name}" for name in repo_paths.FUNCTIONS}
    pythonpath = next(line for line in (ROOT / "pytest.ini").read_text().splitlines() if line.startswith("pythonpath"))
    editor = json.loads((ROOT / "pyrightconfig.json").read_text())["extraPaths"]
    assert set(pythonpath.split("=", 1)[1].split()) == {".", *editor}
