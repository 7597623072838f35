"""Container networking: netlink, bridges and veths, addresses (IPAM), NAT and port proxies, hosts/resolv.conf."""
