"""parliament over every IAM policy the deployed stack would have: each function role's policies (inline
and the AWS managed ones SAM attaches) and each bucket policy, taken from the SAM-transformed template with
the intrinsic functions resolved. Exits non-zero on any finding not explained below, and on any
explanation that no longer matches a finding (so the list cannot go stale)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

ROOT = repo_paths.ROOT

from parliament import analyze_policy_string  # noqa: E402

from devstack.cfn.template import read_stack, secret_arn  # noqa: E402
from devstack.iam.roles import MANAGED_POLICIES, StackPolicies, render_template  # noqa: E402

# (policy, parliament issue) -> why the finding stands.
EXPLAINED = {
    ("managed policy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "RESOURCE_STAR"): (
        "AWS's basic execution policy, which SAM attaches to every function role so Lambda can write the "
        "function's own log stream; the functions call no CloudWatch Logs API themselves."),
    ("role SignInUrlsFunctionRole, policy SignInUrlsFunctionRolePolicy0", "CREDENTIALS_EXPOSURE"): (
        "DescribeUserPoolClient can return a client secret; the only client it may read (the site's, AuthMode "
        "cognito) is public and has none, and the function must read it to write it back whole."),
}


def policies(rendered: dict, resolver: StackPolicies) -> dict[str, dict]:
    """Every policy document of the stack, named for the messages."""
    found = {}
    for logical_id, resource in rendered["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in _branches(props.get("Policies", [])):
                found[f"role {logical_id}, policy {policy['PolicyName']}"] = resolver.resolve(policy["PolicyDocument"])
            for arn in resolver.resolve(props.get("ManagedPolicyArns", [])):
                found[f"managed policy {arn}"] = MANAGED_POLICIES[arn]
        elif resource["Type"] == "AWS::S3::BucketPolicy":
            found[f"bucket policy {logical_id}"] = resolver.resolve(props["PolicyDocument"])
    return found


def _branches(policies: list) -> list[dict]:
    """Every policy a role may get, whatever the AuthMode: both sides of a conditional one (Fn::If)."""
    found = []
    for policy in policies:
        if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            found += _branches(policy["Fn::If"][1:])
        elif policy != {"Ref": "AWS::NoValue"}:
            found.append(policy)
    return found


def findings(template_path: Path) -> dict[tuple[str, str], str]:
    """(policy, issue) -> parliament's detail, for every finding in the template's policies."""
    rendered = render_template(template_path)
    stack = read_stack()
    # Secrets exist only with sign-in on (AuthMode cognito, oidc); their ARN shape is what parliament checks.
    secrets = {name: secret_arn(name) for name, resource in rendered["Resources"].items()
               if resource["Type"] == "AWS::SecretsManager::Secret"}
    resolver = StackPolicies(rendered, {name: bucket.name for name, bucket in stack.buckets.items()} | secrets)
    found = {}
    for name, document in policies(rendered, resolver).items():
        analysed = analyze_policy_string(json.dumps({"Version": "2012-10-17", **document}),
                                         include_community_auditors=True)
        for finding in analysed.findings:
            found[(name, finding.issue)] = str(finding.detail)
    return found


def main() -> int:
    template_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    unexplained, used = [], set()
    for (name, issue), detail in findings(template_path).items():
        reason = EXPLAINED.get((name, issue))
        if reason is None:
            unexplained.append(f"{name}: {issue} {detail}")
        else:
            used.add((name, issue))
            print(f"explained: {name}: {issue}: {reason}")
    stale = [f"{name}: {issue}" for name, issue in EXPLAINED if (name, issue) not in used]
    for line in unexplained:
        print(f"FINDING: {line}")
    for line in stale:
        print(f"STALE EXPLANATION (no such finding any more): {line}")
    print(f"parliament: {len(unexplained)} unexplained finding(s), {len(used)} explained")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
