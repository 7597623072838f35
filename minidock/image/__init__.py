"""Registries: references, auth, transport (the only HTTP code), client, pull, push, archives."""
