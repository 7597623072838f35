"""The facade the CLI calls: wires store, image, build and runtime; one module per area.

DESIGN.md names a single engine.py; it is a package because the facade for images, containers,
builds, networks and sharing does not fit the 400-line module rule in one file.
"""
