from devstack.testing import rendered_template, stack, template  # noqa: F401  (fixtures)
