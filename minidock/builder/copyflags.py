"""COPY's BuildKit flags `--parents` and `--exclude=PATTERN` (dockerfile 1.7 semantics).

`--exclude`: `ExcludingTree` hides, below each source, what the patterns match (the `.dockerignore`
syntax, `**` and `!` included, relative to that source; a wildcard's matches are also checked by
their own name, so `COPY --exclude=*.txt hom* /d/` skips `home.txt`). The copier and the cache key
both read the filtered tree, so an excluded file never reaches the layer nor changes the key.

`--parents`: `parent_items()` keeps each source's path below the context (or below a `/./` pivot:
`COPY --parents ./x/./y/*.txt /d/` gives /d/y/a.txt), and `copy_parents()` recreates those parent
directories at the destination with their source metadata before copying the item itself.
"""

import os
import posixpath
import re
import stat

from minidock.builder.context import SourceItem, Tree, clean_source, expand_sources, walk
from minidock.builder.copy import Copier, CopyTarget
from minidock.builder.dockerignore import Matcher, read_patterns
from minidock.errors import BuildError, DockerfileError

_GLOB_CHARS = "*?["


class ExcludingTree:
    """`tree` without what `--exclude` patterns match below the given source roots."""

    def __init__(self, tree: Tree, patterns: tuple[str, ...], roots: dict[str, bool]) -> None:
        self.tree = tree
        try:
            self.matcher = Matcher(read_patterns("\n".join(patterns)))
        except (DockerfileError, re.error) as e:  # a malformed pattern: one line naming it
            raise BuildError(f"invalid --exclude {' '.join(patterns)!r}: {e}") from e
        self.roots = sorted(roots.items(), key=lambda r: len(r[0]), reverse=True)  # longest root first

    def excluded(self, rel: str, st: os.stat_result) -> bool:
        for root, check_self in self.roots:
            if root and rel != root and not rel.startswith(root + "/"):
                continue
            sub = rel[len(root):].lstrip("/")
            if not sub:
                return check_self and self.matcher.matches(posixpath.basename(rel))
            if not self.matcher.matches(sub):
                return False
            return not stat.S_ISDIR(st.st_mode) or self.matcher.excludes_dir_entirely(sub)
        return False

    def lstat(self, rel: str) -> os.stat_result | None:
        st = self.tree.lstat(rel)
        return None if st is None or self.excluded(rel, st) else st

    def host(self, rel: str) -> str:
        return self.tree.host(rel)

    def listdir(self, rel: str) -> list[str]:
        return [n for n in self.tree.listdir(rel) if self.lstat(f"{rel}/{n}" if rel else n) is not None]


def excluding(tree: Tree, patterns: tuple[str, ...], words: list[str], items: list[SourceItem]) -> ExcludingTree:
    """The tree COPY reads with `--exclude`: roots are the items (wildcard matches also by name)."""
    wild = any(c in w for w in words for c in _GLOB_CHARS)
    return ExcludingTree(tree, patterns, {item.rel: wild for item in items})


def parent_items(tree: Tree, words: list[str], in_context: bool) -> list[SourceItem]:
    """Sources named by their path below the context (or below the `/./` pivot in the word)."""
    items = []
    for word in words:
        pivot = ""
        if "/./" in word:
            head, _, tail = word.partition("/./")
            pivot = clean_source(head, in_context)
            word = f"{head}/{tail}"
        found = _double_star(tree, word, in_context) if "**" in word else expand_sources(tree, (word,), in_context)
        for item in found:
            rel = item.rel
            below = pivot and (rel == pivot or rel.startswith(pivot + "/"))
            items.append(SourceItem(rel, rel[len(pivot):].lstrip("/") if below else rel))
    return items


def parents_key(tree: Tree, items: list[SourceItem]) -> str:
    """The kept parent directories' metadata (they are copied too, so they are part of the cache key)."""
    out = []
    for item in items:
        prefix = item.rel[: len(item.rel) - len(item.name)].rstrip("/")
        parts = item.name.split("/")
        for i in range(1, len(parts)):
            rel = "/".join([prefix, *parts[:i]] if prefix else parts[:i])
            st = tree.lstat(rel)
            if st is not None:
                out.append(f"{rel} {st.st_mode:o} {st.st_uid} {st.st_gid}")
    return "\0".join(out)


def _double_star(tree: Tree, word: str, in_context: bool) -> list[SourceItem]:
    """`src/**/*.txt`: `**` spans any number of directories, none included (BuildKit's --parents)."""
    pattern = clean_source(word, in_context)
    parts = pattern.split("/")
    static = next(i for i, p in enumerate(parts) if any(c in p for c in "*?["))
    base = "/".join(parts[:static])
    regex = re.compile(_translate("/".join(parts[static:])))
    found = [rel for rel in walk(tree, base)[1:] if regex.fullmatch(rel[len(base):].lstrip("/"))]
    if not found:
        raise BuildError(f"{word}: no such file or directory{' in the build context' if in_context else ''}")
    return [SourceItem(rel, posixpath.basename(rel)) for rel in sorted(found)]


def _translate(pattern: str) -> str:
    """A glob with `**` as a regular expression over `/` paths."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith(("!", "^")) else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def copy_parents(copier: Copier, tree: Tree, items: list[SourceItem], dest: str) -> None:
    """Copy each item to `dest`/its kept path, making the kept parent directories like their sources."""
    base = copier.view.canonical(dest.rstrip("/") or "/")
    made: set[str] = set()
    for item in items:
        prefix = item.rel[: len(item.rel) - len(item.name)].rstrip("/")
        parts = item.name.split("/") if item.name else []
        for i in range(1, len(parts)):
            sub = "/".join(parts[:i])
            if sub not in made:
                made.add(sub)
                copier.entry(tree, f"{prefix}/{sub}" if prefix else sub, posixpath.join(base, sub))
        target = posixpath.join(base, item.name) if item.name else base
        st = tree.lstat(item.rel)
        if st is not None and stat.S_ISDIR(st.st_mode) and item.name:
            copier.entry(tree, item.rel, target)
        copier.copy(tree, CopyTarget(item, target))
