"""The on-disk store (no network): content blobs, layers, snapshots, images, containers, gc."""
