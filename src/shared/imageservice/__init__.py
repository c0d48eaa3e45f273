"""Code shared by every function: configuration, key layout, manifest, options, errors, HTTP."""
