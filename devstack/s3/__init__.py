"""S3 on one machine: moto's server behind the checks S3 makes (SigV4, POST policies, CORS)."""
