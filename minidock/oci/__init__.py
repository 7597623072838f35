"""Pure OCI nouns (stdlib only): digests, media types, descriptors, manifests, configs, runtime spec."""
