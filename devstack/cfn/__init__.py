"""CloudFormation on one machine: the template read, its intrinsics evaluated, its resources provisioned."""
