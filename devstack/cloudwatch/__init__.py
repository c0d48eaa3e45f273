"""CloudWatch on one machine: what CloudWatch Logs and metrics would make of the functions' output."""
