"""BuildKit parser conformance: golden dumps, negative cases and line numbers from tests/conformance (copied from
moby/buildkit, see its PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.builder.parser import decode, parse
from minidock.errors import DockerfileError

CORPUS = Path(__file__).resolve().parents[1] / "conformance" / "dockerfile-parser"


def _cases(sub: str) -> list[str]:
    folder = CORPUS / sub
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


@pytest.fixture
def corpus() -> Path:
    return CORPUS


def test_corpus_has_all_cases(corpus: Path) -> None:
    assert len(_cases("testfiles")) == 33
    assert len(_cases("testfiles-negative")) == 4


@pytest.mark.parametrize("name", _cases("testfiles"))
def test_golden_dump(corpus: Path, name: str) -> None:
    case = corpus / "testfiles" / name
    result = parse(decode((case / "Dockerfile").read_bytes()), "Dockerfile")
    assert result.dump() == (case / "result").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", _cases("testfiles-negative"))
def test_negative_case_fails_naming_the_line(corpus: Path, name: str) -> None:
    text = decode((corpus / "testfiles-negative" / name / "Dockerfile").read_bytes())
    with pytest.raises(DockerfileError, match=r"^Dockerfile:\d+: [a-z]"):
        parse(text, "Dockerfile")


def test_line_numbers(corpus: Path) -> None:
    folder = corpus / "testfile-line"
    expected: dict[str, tuple[int, int]] = {}
    for line in (folder / "expected-lines.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            what, start, end = line.split()
            expected[what] = (int(start), int(end))
    result = parse((folder / "Dockerfile").read_text(), "Dockerfile")
    assert (result.start_line, result.end_line) == expected.pop("root")
    got = {f"child{i}": (n.start_line, n.end_line) for i, n in enumerate(result.nodes)}
    assert got == expected
