"""Lambda on one machine: loading handlers, execution environments as processes, asynchronous invocation."""
