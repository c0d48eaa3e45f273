"""Command-line client for the image-processing service's HTTP API."""
