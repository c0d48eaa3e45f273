"""API Gateway's HTTP API on one machine: routes to payload v2.0 events, and its JWT authorizer."""
