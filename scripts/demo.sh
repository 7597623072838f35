#!/usr/bin/env bash
# The offline demo: a local registry, an image made here from Debian's busybox-static, pushed,
# pulled back through the registry-mirror (the Docker Hub flow), run, built on, shared.
# Everything lives in a temporary directory; the registry is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
MD="$PWD/.venv/bin/minidock"
WORK=$(mktemp -d /tmp/minidock-demo.XXXXXX)
export MINIDOCK_ROOT="$WORK/store" MINIDOCK_CONFIG="$WORK/config.json" DOCKER_CONFIG="$WORK/docker"
REG_PID=""
cleanup() {
  set +e
  for c in $("$MD" ps -aq 2>/dev/null); do "$MD" rm -f "$c" >/dev/null; done
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "a local registry (Debian's docker-registry) on 127.0.0.1"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $WORK/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
log: {level: error}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
echo "{\"registry-mirrors\": [\"http://127.0.0.1:$PORT\"]}" > "$MINIDOCK_CONFIG"

say "an image made here: busybox-static as a rootfs, imported, pushed as library/busybox"
mkdir -p "$WORK/rootfs/bin"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$WORK/rootfs/bin/$a"; done
mkdir -p "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$WORK/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$WORK/rootfs/etc/group"
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
run "$MD" import --change 'CMD ["sh"]' "$WORK/rootfs.tar" "127.0.0.1:$PORT/library/busybox:latest"
run "$MD" push "127.0.0.1:$PORT/library/busybox:latest"
run "$MD" rmi "127.0.0.1:$PORT/library/busybox:latest"

say "pull busybox: docker.io/library/busybox through the registry mirror"
run "$MD" pull busybox
run "$MD" images

say "run it"
run "$MD" run --rm busybox sh -c 'echo "hello from $(hostname), I am PID $$"; id'
run "$MD" run --rm --network none --memory 32m --pids-limit 20 --explain busybox true

say "a detached web server on a published port"
WEB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CID=$("$MD" run -d --name web -p "127.0.0.1:$WEB_PORT:80" busybox sh -c 'mkdir -p /www && echo "served by minidock" > /www/index.html && exec httpd -f -p 80 -h /www')
echo "$CID"
sleep 0.5
run "$MD" ps
run curl -fs "http://127.0.0.1:$WEB_PORT/"
run "$MD" exec web sh -c 'cat /etc/hostname; ps'
run "$MD" stop -t 1 web
run "$MD" rm web

say "build on it (Dockerfiles/multistage) and run the result"
run "$MD" build -t demo/app Dockerfiles/multistage
run "$MD" run --rm demo/app
run "$MD" history demo/app

say "the store is consistent"
run "$MD" system df
run "$MD" system check
