"""save/load: docker-archive and OCI layout round trips, digests kept, every blob verified, bad archives refused."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from minidock.errors import ArchiveError, DigestMismatchError
from minidock.image.archive import SaveItem, save_docker, save_oci
from minidock.image.archive_load import load_archive
from minidock.image.reference import Reference
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import chain_ids
from minidock.oci.manifest import Manifest
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.busybox import BusyboxLayout
from tests.fixtures.sharing import put_image


def new_store(tmp_path: Path, name: str) -> Store:
    return Store.open(Paths(tmp_path / name))


def image_with_whiteouts() -> im.Image:
    return im.make_image([
        im.make_tar([("etc", "dir", b""), ("etc/motd", "file", "one\n"), ("etc/gone", "file", "x")]),
        im.make_tar([("etc", "dir", b""), ("etc/.wh.gone", "file", b""), ("etc/motd", "file", "two\n")]),
    ])


def saved(store: Store, names: list[str], fmt: str) -> bytes:
    items = [SaveItem(store.images.get(str(Reference.parse(n))), (str(Reference.parse(n)),)) for n in names]
    buf = io.BytesIO()
    (save_oci if fmt == "oci" else save_docker)(store, items, buf)
    return buf.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]


def assert_unpacked(store: Store, img: im.Image) -> None:
    for chain in chain_ids([Digest.parse(d) for d in img.diff_ids]):
        assert store.snapshots.exists(chain)
    assert [p.name for p in Path(store.paths.tmp).iterdir()] == []


def test_oci_round_trip_keeps_manifest_bytes(tmp_path: Path) -> None:
    src, dst, img = new_store(tmp_path, "a"), new_store(tmp_path, "b"), image_with_whiteouts()
    put_image(src, img, "localhost:5000/app:v1")
    data = saved(src, ["localhost:5000/app:v1"], "oci")
    files = members(data)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    entry = json.loads(files["index.json"])["manifests"][0]
    assert entry["digest"] == img.digest
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "v1",
                                    "io.containerd.image.name": "localhost:5000/app:v1"}
    assert files[f"blobs/sha256/{img.digest.split(':')[1]}"] == img.manifest
    results = load_archive(dst, io.BytesIO(data))
    assert [(r.names, str(r.manifest)) for r in results] == [(("localhost:5000/app:v1",), img.digest)]
    assert dst.content.read(Digest.parse(img.digest)) == img.manifest
    assert_unpacked(dst, img)


def test_docker_archive_round_trip_keeps_the_image_id(tmp_path: Path) -> None:
    src, dst, img = new_store(tmp_path, "a"), new_store(tmp_path, "b"), image_with_whiteouts()
    put_image(src, img, "app:v1")
    put_image(src, img, "app:v2")
    data = saved(src, ["app:v1", "app:v2"], "docker")
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    config_hex = im.sha(img.config).split(":")[1]
    assert manifest[0]["Config"] == f"{config_hex}.json" and manifest[0]["RepoTags"] == ["app:v1"]
    assert manifest[0]["Layers"] == [f"{d.split(':')[1]}/layer.tar" for d in img.diff_ids]
    assert im.sha(files[manifest[0]["Layers"][0]]) == img.diff_ids[0]  # uncompressed
    assert sum(n.endswith("layer.tar") for n in files) == 2  # the second image shares its layers
    results = load_archive(dst, io.BytesIO(gzip.compress(data)))  # gzip-compressed archives too
    assert {n for r in results for n in r.names} == {"docker.io/library/app:v1", "docker.io/library/app:v2"}
    rec = dst.images.get("docker.io/library/app:v1")
    m = Manifest.from_bytes(dst.content.read(rec.target.digest))
    assert m.config.digest == Digest.parse(im.sha(img.config))  # the image id survives
    assert [str(d.digest) for d in m.layers] == img.diff_ids  # layers kept uncompressed
    assert_unpacked(dst, img)
    again = io.BytesIO()
    save_docker(dst, [SaveItem(rec, (rec.name,))], again)
    assert members(again.getvalue())[manifest[0]["Layers"][1]] == files[manifest[0]["Layers"][1]]


def test_loads_the_busybox_layout(tmp_path: Path, busybox_layout: BusyboxLayout) -> None:
    layout = busybox_layout.path
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(layout, arcname=".")
    store = new_store(tmp_path, "s")
    (result,) = load_archive(store, io.BytesIO(buf.getvalue()))
    index = json.loads((layout / "index.json").read_text())
    assert str(result.manifest) == index["manifests"][0]["digest"]
    assert result.names == ("docker.io/library/busybox:1.38.0-glibc",)
    diff_ids = json.loads(store.content.read(result.image_id))["rootfs"]["diff_ids"]
    top = chain_ids([Digest.parse(d) for d in diff_ids])[-1]
    assert (Path(store.paths.snapshot(top.hex)) / "fs" / "bin" / "busybox").is_file()


def tar_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        for name, target in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.SYMTYPE, target
            tf.addfile(ti)
    return buf.getvalue()


def test_tampered_blob_is_refused(tmp_path: Path) -> None:
    src, img = new_store(tmp_path, "a"), image_with_whiteouts()
    put_image(src, img, "app:v1")
    files = members(saved(src, ["app:v1"], "oci"))
    layer = img.layers[0]["digest"].split(":")[1]
    blob = bytearray(files[f"blobs/sha256/{layer}"])
    blob[-9] ^= 0xFF
    files[f"blobs/sha256/{layer}"] = bytes(blob)
    dst = new_store(tmp_path, "b")
    with pytest.raises(DigestMismatchError, match="content hashes to"):
        load_archive(dst, io.BytesIO(tar_of(files)))
    assert dst.images.list() == []
    assert [p.name for p in Path(dst.paths.tmp).iterdir()] == []


def test_docker_archive_symlinked_layers_and_unsafe_paths(tmp_path: Path) -> None:
    img = image_with_whiteouts()
    layer0 = gzip.decompress(img.blobs[img.layers[0]["digest"]])
    layer1 = gzip.decompress(img.blobs[img.layers[1]["digest"]])
    config_hex = im.sha(img.config).split(":")[1]
    entry = [{"Config": f"{config_hex}.json", "RepoTags": ["x/y:z"], "Layers": ["a/layer.tar", "b/layer.tar"]}]
    files = {f"{config_hex}.json": img.config, "l0.tar": layer0, "b/layer.tar": layer1,
             "manifest.json": json.dumps(entry).encode()}
    store = new_store(tmp_path, "s")
    (r,) = load_archive(store, io.BytesIO(tar_of(files, {"a/layer.tar": "../l0.tar"})))
    assert r.names == ("docker.io/x/y:z",)
    with pytest.raises(ArchiveError, match="unsafe path"):
        load_archive(store, io.BytesIO(tar_of({"../evil": b"x"})))
    with pytest.raises(ArchiveError, match="unsafe path"):
        load_archive(store, io.BytesIO(tar_of(files, {"a/layer.tar": "../../etc/passwd"})))
    with pytest.raises(ArchiveError, match=r"neither manifest\.json"):
        load_archive(store, io.BytesIO(tar_of({"hello": b"x"})))


# ---- export / import (pure parts and the merge walk on real directories) ---------------------------
def test_apply_changes() -> None:
    from minidock.errors import UsageError
    from minidock.image.rootfs import apply_changes
    from minidock.oci.imageconfig import ContainerConfig

    c = apply_changes(ContainerConfig(env=("A=1",)), ['CMD ["/bin/sh"]', "ENTRYPOINT echo hi", "ENV A=2 B=3",
                                                      "LABEL x=y", "WORKDIR /srv", "USER 1000", "EXPOSE 80 53/udp"])
    assert c.cmd == ("/bin/sh",) and c.entrypoint == ("/bin/sh", "-c", "echo hi")
    assert c.env == ("A=2", "B=3") and c.labels == {"x": "y"} and c.working_dir == "/srv" and c.user == "1000"
    assert c.exposed_ports == ("53/udp", "80/tcp")
    with pytest.raises(UsageError, match="RUN"):
        apply_changes(ContainerConfig(), ["RUN true"])


@pytest.mark.root
def test_merge_honours_whiteouts_opaque_dirs_and_shadowing(tmp_path: Path) -> None:
    import os

    from minidock.image.rootfs import write_rootfs

    lower, mid, upper = tmp_path / "lower", tmp_path / "mid", tmp_path / "upper"
    for d in ("etc", "data", "x"):
        (lower / d).mkdir(parents=True)
    (lower / "etc/keep").write_text("k")
    (lower / "etc/gone").write_text("g")
    (lower / "data/old").write_text("o")
    (lower / "x/inner").write_text("i")
    (mid / "data").mkdir(parents=True)
    os.setxattr(mid / "data", "trusted.overlay.opaque", b"y")
    (mid / "data/new").write_text("n")
    (mid / "x").write_text("x is a file now")
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc/gone", 0o600 | 0o020000, os.makedev(0, 0))  # overlay whiteout
    (upper / "etc/added").write_text("a")
    buf = io.BytesIO()
    write_rootfs([upper, mid, lower], buf)
    files = members(buf.getvalue())
    assert files == {"etc/added": b"a", "etc/keep": b"k", "data/new": b"n", "x": b"x is a file now"}


@pytest.mark.root
def test_import_makes_a_one_layer_image(tmp_path: Path) -> None:
    from minidock.image.rootfs import import_rootfs
    from minidock.oci.imageconfig import ContainerConfig, ImageConfig

    store = new_store(tmp_path, "s")
    tar = im.make_tar([("bin", "dir", b""), ("bin/hello", "file", "#!/bin/sh\necho hi\n")])
    rec = import_rootfs(store, io.BytesIO(gzip.compress(tar)), "docker.io/library/imp:v1",
                        ContainerConfig(cmd=("/bin/hello",)))
    m = Manifest.from_bytes(store.content.read(rec.target.digest))
    config = ImageConfig.from_bytes(store.content.read(m.config.digest))
    assert config.diff_ids == (Digest.parse(im.sha(tar)),) and config.os == "linux"
    assert config.config.cmd == ("/bin/hello",) and m.layers[0].media_type.endswith("tar+gzip")
    assert (Path(store.paths.snapshot(config.diff_ids[0].hex)) / "fs/bin/hello").read_text() == "#!/bin/sh\necho hi\n"
    with pytest.raises(ArchiveError, match="import"):
        import_rootfs(store, io.BytesIO(b"not a tar at all" * 100), "docker.io/library/bad:v1", ContainerConfig())
