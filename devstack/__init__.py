"""The local stack: the application of template.yaml on one machine, without AWS or Docker."""
