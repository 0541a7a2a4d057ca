"""Where content files come from: a folder on disk (or, later, a git tree).

The loader only sees `SourceEntry` values and bytes, so `kb check`, the indexer and the
git hook validate exactly the same way whatever the files are stored in.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SourceEntry:
    path: str  # POSIX, relative to the content root
    size: int
    mtime_ns: int = 0
    is_symlink: bool = False
    symlink_inside: bool = False  # for symlinks: does the target stay inside the root?


class ContentSource(Protocol):
    def entries(self) -> Iterator[SourceEntry]:
        """Every file and symlink under the root, sorted by path, hidden folders skipped."""
        ...

    def read(self, path: str) -> bytes: ...

    def exists(self, path: str) -> bool: ...


def is_hidden(name: str) -> bool:
    """Files and folders starting with `_` or `.` are not resources."""
    return name.startswith(("_", "."))


class FileSystemSource:
    """A content tree on disk. Symlinks are reported, never followed."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def entries(self) -> Iterator[SourceEntry]:
        collected: list[SourceEntry] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            # Keep `_`-folders out (they hold no resources) but keep walking `.`-less ones.
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            base = Path(dirpath)
            names = list(filenames) + [d for d in dirnames if (base / d).is_symlink()]
            dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
            for name in names:
                if name.startswith("."):
                    continue
                full = base / name
                rel = full.relative_to(self.root).as_posix()
                try:
                    stat = full.lstat()
                except OSError:
                    continue
                if full.is_symlink():
                    collected.append(
                        SourceEntry(rel, 0, stat.st_mtime_ns, True, self._inside(full))
                    )
                else:
                    collected.append(SourceEntry(rel, stat.st_size, stat.st_mtime_ns))
        collected.sort(key=lambda e: e.path)
        return iter(collected)

    def _inside(self, link: Path) -> bool:
        try:
            target = link.resolve(strict=False)
        except (OSError, RuntimeError):
            return False
        return target == self.root or self.root in target.parents

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def exists(self, path: str) -> bool:
        full = self.root / path
        return full.is_file() and not full.is_symlink()
