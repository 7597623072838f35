"""`.dockerignore` semantics: moby/patternmatcher's match table, exclusions, reading and directory pruning."""

from __future__ import annotations

import pytest

from minidock.builder.dockerignore import Matcher, Pattern, clean, read_patterns
from minidock.errors import DockerfileError

# (pattern, path, excluded) — the behaviour moby/patternmatcher documents in its tests
TABLE = [
    ("**", "file", True), ("**", "file/", True), ("**/", "file", True), ("**", "dir/file", True),
    ("**/**", "dir/file", True), ("dir/**", "dir/file", True), ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True), ("**/dir", "dir/file", True), ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True), ("**file", "file", True), ("**file", "dir/file", True),
    ("**/file", "dir/file", True), ("**/file", "dir/dir/file", True), ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True), ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False), ("**/*.txt", "file.txt", True), ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True), ("a**/*.txt", "a/dir/dir/file.txt", True), ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True), ("a/*.txt**", "a/file.txt", True), ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True), ("a[b-d]e", "aae", False), ("a[^b-d]e", "aze", True), (".*", ".foo", True),
    (".*", "foo", False), ("abc.def", "abcdef", False), ("abc.def", "abc.def", True), ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False), ("a\\\\", "a\\", True), ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True), ("abc/**", "abc", False), ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True), ("**/.foo", "bar.foo", False), ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False), ("a.|)$(}+{bc", "a.|)$(}+{bc", True), ("dist/*.whl", "dist/p.y-2+g0.whl", True),
    ("*", "a/b", True), ("docs", "docs/x/y.md", True), ("*.go", "a/b.go", False), ("a^b", "a^b", True),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "path", "excluded"), TABLE)
def test_match_table(pattern: str, path: str, excluded: bool) -> None:
    assert Matcher(read_patterns(pattern)).matches(path) is excluded


def test_later_patterns_win_and_exclusions_reinclude() -> None:
    m = Matcher(read_patterns("*.md\n!README.md\nREADME*.md\n!README-keep.md\n"))
    assert m.matches("CHANGES.md")
    assert m.matches("README-old.md")
    assert m.matches("README.md")
    assert not m.matches("README-keep.md")
    assert not m.matches("main.py")


def test_reading_comments_blanks_cleaning() -> None:
    text = "\ufeff# comment\n\n  /abs/path  \n ! keep/../kept \nsub/./dir/\n#not\\n\n"
    assert read_patterns(text) == [Pattern("abs/path"), Pattern("kept", exclusion=True), Pattern("sub/dir")]
    with pytest.raises(DockerfileError, match=r"\.dockerignore:2: illegal exclusion pattern"):
        read_patterns("a\n!\n")


def test_parent_directory_exclusion() -> None:
    m = Matcher(read_patterns("node_modules\n"))
    assert m.matches("node_modules/a/b.js") and m.matches("/node_modules") and not m.matches("src/node_modules")


@pytest.mark.parametrize(
    ("patterns", "directory", "prunable"),
    [
        ("node_modules", "node_modules", True),
        ("node_modules\n!node_modules/keep.js", "node_modules", False),
        ("build\n!other/x", "build", True),
        ("build\n!**/keep", "build", False),
        ("a\n!a/*/keep", "a", False),
        ("a\n!b/*/keep", "a", True),
        ("src", "lib", False),
    ],
)
def test_excludes_dir_entirely(patterns: str, directory: str, prunable: bool) -> None:
    assert Matcher(read_patterns(patterns)).excludes_dir_entirely(directory) is prunable


def test_clean() -> None:
    assert [clean(p) for p in ("", "a//b/", "//a", "a/../..", "./x")] == [".", "a/b", "/a", "..", "x"]


def test_bad_pattern() -> None:
    with pytest.raises(DockerfileError, match="bad pattern"):
        Matcher(read_patterns("a[b"))
