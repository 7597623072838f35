"""The kernel side: syscalls, namespaces, rootfs, cgroups, network, init, process supervision."""
