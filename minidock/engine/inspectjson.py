"""`docker container inspect`'s JSON for a container record (a state.json dict, see engine/glance.py).

Docker's field order and names: Id, Created, Path, Args, State (with Health), Image, the paths,
Name, RestartCount, HostConfig (the flags given, Docker-named), Mounts, Config (Hostname, User,
Env, Cmd, Entrypoint, Image, WorkingDir, Labels, ExposedPorts, Healthcheck, StopSignal, ...) and
NetworkSettings (IPAddress, Gateway, MacAddress, Ports, Networks). The runtime spec (config.json)
is read as plain JSON, for the process's environment, directory, terminal and hostname only.
"""

from __future__ import annotations

from minidock.engine.glance import ACTIVE, container_dir, network_ports, root, snapshot_chain
from minidock.plainjson import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"
# host_config keys that are minidock's own bookkeeping, not Docker HostConfig fields
_PRIVATE = ("NetworkPlan", "ExtraNetworks", "ExtraEndpoints", "Config", "MountPoints", "Cpus", "Tty", "OpenStdin",
            "PortBindings", "Memory")
# what records made before minidock kept these fields show (engine/nsmodes.py records them now)
_NAMESPACE_DEFAULTS = {"CgroupnsMode": "private", "GroupAdd": None, "IpcMode": "private", "PidMode": "",
                       "UTSMode": "", "UsernsMode": ""}


def _spec(cid: str, store: str | None) -> dict[str, Any]:
    try:
        with open(container_dir(cid, store) + "/config.json", "rb") as f:
            d = loads(f.read())
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}


def state(d: dict[str, Any]) -> dict[str, Any]:
    status = d.get("status") or "created"
    out = {"Status": status, "Running": status in ("running", "paused"), "Paused": status == "paused",
           "Restarting": status == "restarting", "OOMKilled": bool(d.get("oom_killed")), "Dead": status == "dead",
           "Pid": d.get("pid", 0) if status in ACTIVE else 0, "ExitCode": d.get("exit_code", 0),
           "Error": d.get("error", ""), "StartedAt": d.get("started_at") or ZERO_TIME,
           "FinishedAt": d.get("finished_at") or ZERO_TIME}
    if d.get("health"):
        out["Health"] = d["health"]
    return out


def port_bindings(publish: list[str]) -> dict[str, list[dict[str, str]]]:
    """`-p [IP:][HOST:]CTR[/PROTO]` flags as Docker's HostConfig.PortBindings."""
    out: dict[str, list[dict[str, str]]] = {}
    for text in publish:
        spec, _, proto = text.partition("/")
        parts = spec.rsplit(":", 2)
        ctr, host, ip = parts[-1], parts[-2] if len(parts) > 1 else "", parts[0] if len(parts) > 2 else ""
        out.setdefault(f"{ctr}/{proto or 'tcp'}", []).append({"HostIp": ip.strip("[]"), "HostPort": host})
    return out


# what records made before minidock kept the resource flags show (engine/resources.py records them now)
_RESOURCE_DEFAULTS = {"BlkioWeight": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
                      "CpusetCpus": "", "CpusetMems": "", "MemoryReservation": 0, "MemorySwappiness": None,
                      "OomKillDisable": False, "OomScoreAdj": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": None,
                      "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None,
                      "CgroupParent": "", "DeviceCgroupRules": None, "Dns": [], "DnsSearch": [], "DnsOptions": []}


def _bytes(value: object) -> object:
    """HostConfig.Memory in bytes (records keep it as typed: "32m")."""
    if isinstance(value, str) and value:
        from minidock.runtime.cgroups import parse_bytes

        return parse_bytes(value)
    return value or 0


def host_config(hc: dict[str, Any]) -> dict[str, Any]:
    cpus = hc.get("Cpus") or 0
    out = {"Binds": hc.get("Binds") or None, "ContainerIDFile": hc.get("ContainerIDFile", ""),
           "LogConfig": _log_config(hc.get("LogConfig") or {}),
           "NetworkMode": hc.get("NetworkMode", "bridge"), "PortBindings": port_bindings(hc.get("PortBindings") or []),
           "RestartPolicy": hc.get("RestartPolicy") or {"Name": "no", "MaximumRetryCount": 0},
           "AutoRemove": bool(hc.get("AutoRemove")), "VolumesFrom": hc.get("VolumesFrom") or None,
           "CapAdd": hc.get("CapAdd") or None, "CapDrop": hc.get("CapDrop") or None,
           "Privileged": bool(hc.get("Privileged")), "PublishAllPorts": bool(hc.get("PublishAllPorts")),
           "ReadonlyRootfs": bool(hc.get("ReadonlyRootfs")), "SecurityOpt": hc.get("SecurityOpt") or None,
           "Memory": _bytes(hc.get("Memory")), "NanoCpus": int(float(cpus) * 1e9) if cpus else 0,
           "PidsLimit": hc.get("PidsLimit") or None, "Devices": hc.get("Devices") or [],
           "Init": hc.get("Init") or None}
    # flags other parts of minidock record under Docker's names
    for key, value in {**_NAMESPACE_DEFAULTS, **_RESOURCE_DEFAULTS, **hc}.items():
        if key not in out and key not in _PRIVATE and key[:1].isupper():
            out[key] = value
    return out


def config(d: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    hc = d.get("host_config") or {}
    extra = hc.get("Config") or {}
    proc = spec.get("process") or {}
    out: dict[str, Any] = {
        "Hostname": extra.get("Hostname") or spec.get("hostname", ""),
        "Domainname": extra.get("Domainname") or "",
        "User": extra.get("User") or "", "AttachStdin": False, "AttachStdout": False, "AttachStderr": False}
    if extra.get("ExposedPorts"):
        out["ExposedPorts"] = extra["ExposedPorts"]
    out.update(Tty=bool(hc.get("Tty") or proc.get("terminal")), OpenStdin=bool(hc.get("OpenStdin")),
               StdinOnce=False, Env=extra["Env"] if "Env" in extra else proc.get("env") or [],
               Cmd=extra["Cmd"] if "Cmd" in extra else list(d.get("command") or ()) or None)
    if extra.get("Healthcheck"):
        out["Healthcheck"] = extra["Healthcheck"]
    out.update(Image=d.get("image", ""), Volumes=extra.get("Volumes"),
               WorkingDir=extra["WorkingDir"] if "WorkingDir" in extra else proc.get("cwd", ""),
               Entrypoint=extra.get("Entrypoint"))
    if (hc.get("NetworkPlan") or {}).get("mac"):  # Docker's omitempty
        out["MacAddress"] = hc["NetworkPlan"]["mac"]
    out.update(OnBuild=None, Labels=extra.get("Labels") or {})
    for key in ("StopSignal", "StopTimeout"):
        if key in extra:
            out[key] = extra[key]
    return out


def network_settings(d: dict[str, Any]) -> dict[str, Any]:
    att = d.get("network") or {}
    hc = d.get("host_config") or {}
    mode = hc.get("NetworkMode", "bridge")
    running = (d.get("status") in ACTIVE) and bool(att.get("ip"))
    ports = network_ports(d)
    ip, gateway, mac, prefix = ((att.get("ip", ""), att.get("gateway", ""), att.get("mac", ""),
                                 att.get("prefixlen", 0)) if running else ("", "", "", 0))
    out = {"Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
           "LinkLocalIPv6PrefixLen": 0, "Ports": ports, "SandboxKey": "", "SecondaryIPAddresses": None,
           "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": gateway if mode == "bridge" else "",
           "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": ip if mode == "bridge" else "",
           "IPPrefixLen": prefix if mode == "bridge" else 0, "IPv6Gateway": "",
           "MacAddress": mac if mode == "bridge" else "", "Networks": {}}
    if mode not in ("container",) and not mode.startswith("container:"):
        plan = hc.get("NetworkPlan") or {}
        networks = {mode: _endpoint(gateway, ip, prefix, mac, _asked(plan, mode, d, running))}
        extra = {a.get("network"): a for a in att.get("extra") or () if running}
        ends = hc.get("ExtraEndpoints") or {}
        for name in hc.get("ExtraNetworks") or ():  # `network connect`ed ones, wired while it runs
            a = extra.get(name) or {}
            networks[name] = _endpoint(a.get("gateway", ""), a.get("ip", ""), a.get("prefixlen", 0), a.get("mac", ""),
                                       _asked(ends.get(name) or {}, name, d, running))
        out["Networks"] = networks
    return out


def _asked(end: dict[str, Any], network: str, d: dict[str, Any], running: bool) -> dict[str, Any]:
    """IPAMConfig and Aliases of an endpoint as Docker shows them: the --ip asked for; the aliases
    (--network-alias, `connect --alias`) and, while it runs on a user network, the short id."""
    user = network not in ("bridge", "host", "none", "default")
    aliases = [*end.get("aliases", ()), *([str(d.get("id", ""))[:12]] if running and user else [])]
    return {"IPAMConfig": {"IPv4Address": end["ip"]} if end.get("ip") else None, "Aliases": aliases or None}


def _endpoint(gateway: str, ip: str, prefix: int, mac: str, asked: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of NetworkSettings.Networks."""
    return {"IPAMConfig": None, "Links": None, "Aliases": None, **(asked or {}), "NetworkID": "", "EndpointID": "",
            "Gateway": gateway, "IPAddress": ip, "IPPrefixLen": prefix, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": mac, "DriverOpts": None}


def graph_driver(cid: str, where: str, store: str | None = None) -> dict[str, Any]:
    """Docker's GraphDriver: the overlay directories of the container's root file system (lower
    dirs top first, as overlay's lowerdir= lists them)."""
    snapshots = f"{store or root()}/snapshots"
    lowers = [f"{snapshots}/{sid}/fs" for sid in snapshot_chain(cid, store)] or [f"{snapshots}/{cid}/empty"]
    return {"Data": {"LowerDir": ":".join(lowers), "MergedDir": where + "/rootfs",
                     "UpperDir": f"{snapshots}/{cid}/fs", "WorkDir": f"{snapshots}/{cid}/work"},
            "Name": "overlay2"}


def _log_config(stored: dict[str, Any]) -> dict[str, Any]:
    """Type, then Config (the record keeps keys sorted); Config as typed (older records: normalized)."""
    return {"Type": stored.get("Type") or "json-file", "Config": stored.get("Config") or {}}


def container_json(d: dict[str, Any], store: str | None = None) -> dict[str, Any]:
    """Docker's inspect object for the record `d`."""
    cid = str(d.get("id", ""))
    spec = _spec(cid, store)
    args = list(d.get("command") or ())
    where = container_dir(cid, store)
    hc = d.get("host_config") or {}
    return {"Id": cid, "Created": d.get("created", ""), "Path": args[0] if args else "", "Args": args[1:],
            "State": state(d), "Image": d.get("image_id", ""), "ResolvConfPath": where + "/resolv.conf",
            "HostnamePath": where + "/hostname", "HostsPath": where + "/hosts", "LogPath": where + "/log",
            "Name": "/" + str(d.get("name", "")), "RestartCount": d.get("restart_count", 0), "Driver": "overlay2",
            "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
            "HostConfig": host_config(hc), "GraphDriver": graph_driver(cid, where, store),
            "Mounts": list(hc.get("MountPoints") or []),
            "Config": config(d, spec), "NetworkSettings": network_settings(d)}
