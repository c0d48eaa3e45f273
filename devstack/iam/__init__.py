"""IAM for the local stack and the in-process tests: each function may make only the AWS calls its role's
policies in the SAM-transformed template allow, decided by IAM's evaluation rules (see docs/iam-enforcement.md).
`install_iam` is the one entry point; `render_template` gives the template it reads."""

from .hook import Enforcer, Installation, Refusal, acting_as, acting_function, install_iam, is_secure_transport
from .operations import UnmappedOperation
from .roles import Pseudo, StackPolicies, render_template

__all__ = ["Enforcer", "Installation", "Pseudo", "Refusal", "StackPolicies", "UnmappedOperation", "acting_as",
           "acting_function", "install_iam", "is_secure_transport", "render_template"]
