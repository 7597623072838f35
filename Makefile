# minidock: `make demo` runs the offline demo; `make test` runs the whole test suite.
# The distribution's interpreter when there is one: Debian's build (PGO + LTO) starts `minidock run`
# ~20 ms faster than a plain source build (pyenv's, say) that may come first in PATH.
PY ?= $(firstword $(wildcard /usr/bin/python3) python3)
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := python3-venv docker-registry skopeo podman umoci crun runc buildah busybox-static tini \
	hyperfine iptables nftables apache2-utils iproute2 uidmap tmux \
	docker.io debootstrap gcc libc6-dev keyutils libseccomp2 python3-seccomp golang-github-containers-common procps \
	openssh-client

.PHONY: deps venv test lint unit demo bench clean

deps:  ## Debian packages the tests and the demo use (needs root)
	@if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES); fi

venv: $(BIN)/minidock
$(BIN)/minidock: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	$(BIN)/pip uninstall -q -y setuptools  # its distutils-precedence.pth costs ~2 ms at every start-up; unused
	# pip's launcher imports re (~4 ms of CPU, for a Windows-only suffix): the same entry point without it,
	# started with -S (no site: ~2 ms) and minidock on sys.path; cli.main adds site-packages when needed
	{ echo "$$(sed -n "1{s/ -S$$//;p;}" $(BIN)/minidock) -S"; printf 'import sys\nsys.path.append("%s")\nfrom minidock.cli.main import main\nsys.exit(main())\n' "$(CURDIR)"; } > $(BIN)/minidock.new
	chmod 755 $(BIN)/minidock.new && mv $(BIN)/minidock.new $(BIN)/minidock
	$(BIN)/python -m compileall -q minidock  # byte-code even where PYTHONDONTWRITEBYTECODE is set: start-up
	touch $@

lint: venv
	$(BIN)/ruff check minidock tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: deps venv lint  ## the whole suite: packages, ruff, mypy, import contracts, pytest
	$(BIN)/pytest -q tests

demo: deps venv  ## offline demo: local registry, an image made here, pull, run, build
	bash scripts/demo.sh

bench: deps venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
