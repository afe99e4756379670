"""Safe reading of one file inside a repository's work tree, and atomic writes of fastapply's own files.

Reading resolves the path (it must stay inside the work tree, outside ``.git/`` and outside any
nested repository or submodule, under a UTF-8 name; a symlink is followed only when its target is
inside the tree), refuses read-only and binary files, Git LFS pointers and files above a size
limit, decodes strictly and remembers how the file was written (encoding, BOM, line endings, final
newline, mode) so that new text can be written back in the same style.
``write_atomic`` (a temporary file in the same directory, fsync, the given mode, ``os.replace``) is
for fastapply's own state files; files of the work tree are written by ``fastapply.writer``, which
checks the path again at the moment of writing.

The text handed to the rest of fastapply always uses ``\\n``; this module alone knows the bytes.
It knows nothing about git beyond the work tree and git-dir paths it is given.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapply.errors import RefusedError
from fastapply.regular import FileTooLarge, NotRegularFile, read_regular
from fastapply.unicode import lone_surrogate

DEFAULT_MAX_BYTES = 1_000_000
SNIFF_BYTES = 8192
LFS_PREFIX = b"version https://git-lfs.github.com/spec/"
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class FileRefused(RefusedError):
    """A file fastapply will not edit; ``path`` is the name as given, ``reason`` says why."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def looks_binary(head: bytes) -> bool:
    """A NUL byte in the first bytes marks a binary file (what git itself checks)."""
    return b"\0" in head[:SNIFF_BYTES]


@dataclass(slots=True)
class SourceFile:
    """A file as read: its decoded text (``\\n`` line endings) and everything needed to write back."""

    path: str  # repo-relative path as given (a symlink keeps its own name)
    real_path: Path  # absolute path of the file that is actually read and written
    repo_root: Path
    data: bytes
    text: str
    encoding: str
    bom: bool
    newline: str  # "\n", "\r\n", "\r", or "mixed"
    line_endings: list[str] = field(default_factory=list)  # one per line of ``text``
    final_newline: bool = True
    mode: int = 0o644
    sha256: str = ""

    @property
    def real_rel(self) -> str:
        """Repo-relative path of the file that is written (the symlink's target for a link)."""
        return self.real_path.relative_to(self.repo_root).as_posix()

    @property
    def dominant_newline(self) -> str:
        if self.newline != "mixed":
            return self.newline
        counts = {e: self.line_endings.count(e) for e in ("\n", "\r\n", "\r")}
        return max(counts, key=lambda e: counts[e])

    def encode(self, text: str) -> bytes:
        """``text`` (``\\n`` endings) as bytes in this file's style.

        In a mixed-ending file each line keeps the ending of the original line it corresponds to;
        otherwise every line takes the file's one ending. The final
        newline follows the original: present if it was, absent if it was not.
        """
        lines = split_lines(text)
        old_lines = split_lines(self.text)
        endings = [self.dominant_newline] * len(lines)
        if self.newline == "mixed":
            # Kept and rewritten lines keep the ending of the line they stand for; inserted lines
            # take the ending of the line just before them.
            matcher = difflib.SequenceMatcher(None, old_lines, lines, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                for k in range(j2 - j1):
                    if i2 > i1:
                        endings[j1 + k] = self.line_endings[min(i1 + k, i2 - 1)]
                    elif i1 > 0:
                        endings[j1 + k] = self.line_endings[i1 - 1]
        out: list[str] = []
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            out.append(line if last and not self.final_newline else line + endings[i])
        body = "".join(out)
        data = body.encode(self.encoding)
        if self.bom:
            data = _bom_for(self.encoding) + data
        return data

    def normalized(self, text: str) -> str:
        """``text`` with ``\\n`` endings and this file's final-newline convention."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return text
        if self.final_newline and not text.endswith("\n"):
            return text + "\n"
        if not self.final_newline:
            return text.rstrip("\n") if text.endswith("\n") else text
        return text


def split_lines(text: str) -> list[str]:
    """Lines of ``\\n``-separated text without their endings (str.splitlines also splits on form
    feeds and other separators that are ordinary characters in source code)."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def _bom_for(encoding: str) -> bytes:
    for bom, name in _BOMS:
        if name == encoding:
            return bom
    return b""


def resolve_in_repo(path: str | os.PathLike[str], repo_root: Path, git_dir: Path | None = None) -> tuple[str, Path]:
    """Check ``path`` lies in the work tree; return its repo-relative name and the real file.

    Raises:
        RefusedError: the path escapes the tree, is inside ``.git/`` or a nested repository, is a
            symlink pointing out of the tree, is not a regular file, or its name is not UTF-8.
    """
    root = Path(os.path.realpath(repo_root))
    given = Path(path)
    absolute = given if given.is_absolute() else Path.cwd() / given
    lexical = Path(os.path.normpath(absolute))
    # The lexical check catches `..` that walks out even through a symlinked parent.
    try:
        rel = lexical.relative_to(root)
    except ValueError:
        try:
            rel = Path(os.path.realpath(lexical.parent)).joinpath(lexical.name).relative_to(root)
        except ValueError:
            raise FileRefused(path, f"outside the repository ({root})") from None
    if rel.parts and rel.parts[0] == ".git" or not rel.parts:
        raise FileRefused(path, "inside .git/ (never edited)")
    if lone_surrogate(rel.as_posix()) is not None:  # bytes the file system decoded with surrogateescape
        raise FileRefused(path, "its name is not valid UTF-8 (rename the file to edit it)")
    real = Path(os.path.realpath(lexical))
    try:
        real_rel = real.relative_to(root)
    except ValueError:
        raise FileRefused(path, f"symlink to a target outside the repository ({real})") from None
    if real_rel.parts and real_rel.parts[0] == ".git":
        raise FileRefused(path, "points into .git/ (never edited)")
    if git_dir is not None:
        gd = Path(os.path.realpath(git_dir))
        if real == gd or gd in real.parents:
            raise FileRefused(path, "inside the git directory (never edited)")
    if not real.exists():
        raise FileRefused(path, "no such file")
    if not real.is_file():
        raise FileRefused(path, "not a regular file")
    nested = _nested_repository(real, root)
    if nested is not None:
        raise FileRefused(path, f"inside {nested}/, a submodule or another repository (run fastapply there)")
    return rel.as_posix(), real


def _nested_repository(real: Path, root: Path) -> str | None:
    """The work-tree folder above ``real`` that holds its own ``.git`` (a submodule's gitlink file or
    a nested repository), whose index, HEAD and undo journal are not this repository's; or None."""
    for folder in real.parents:
        if folder == root or root not in folder.parents:
            return None
        if os.path.lexists(folder / ".git"):
            return folder.relative_to(root).as_posix()
    return None


def decode(data: bytes, name: str) -> tuple[str, str, bool]:
    """Strictly decode ``data``; return text, encoding and whether it carried a BOM.

    Raises:
        RefusedError: binary content or bytes that are not valid in the detected encoding.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding, True
            except UnicodeDecodeError as exc:
                raise FileRefused(name, f"not valid {encoding} ({exc.reason})") from None
    if looks_binary(data):
        raise FileRefused(name, "binary file")
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        raise FileRefused(name, "not UTF-8 text (unknown encoding, refusing to guess)") from None


def _line_style(text: str) -> tuple[str, list[str], bool]:
    endings: list[str] = []
    for match in _LINE.finditer(text):
        line = match.group(0)
        if line.endswith("\r\n"):
            endings.append("\r\n")
        elif line.endswith(("\n", "\r")):
            endings.append(line[-1])
        else:
            endings.append("")
    final = not endings or endings[-1] != ""
    kinds = {e for e in endings if e}
    newline = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "\n")
    fill = newline if newline != "mixed" else "\n"
    return newline, [e or fill for e in endings], final


def read_source(
    path: str | os.PathLike[str],
    repo_root: Path,
    *,
    git_dir: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SourceFile:
    """Read one file for editing, following ARCHITECTURE.md, "The write pipeline", steps 1-3.

    Raises:
        RefusedError: with the reason (outside the tree, ``.git/``, read-only, binary, LFS pointer,
            too large, undecodable).
    """
    rel, real = resolve_in_repo(path, repo_root, git_dir)
    info = real.stat()
    if read_only(stat.S_IMODE(info.st_mode)) or not os.access(real, os.W_OK):
        raise FileRefused(rel, "read-only (chmod u+w lets fastapply edit it)")
    size = info.st_size
    if size > max_bytes:
        raise FileRefused(rel, f"too large ({size} bytes > limit {max_bytes})")
    try:  # a FIFO swapped in since resolve_in_repo looked is refused, never waited on
        found = read_regular(real, max_bytes=max_bytes)
    except NotRegularFile as exc:
        raise FileRefused(rel, f"not a regular file ({exc.kind})") from None
    except FileTooLarge as exc:
        raise FileRefused(rel, f"too large ({exc.size} bytes > limit {max_bytes})") from None
    if found is None:
        raise FileRefused(rel, "it was removed while being read")
    data, info = found
    if data.startswith(LFS_PREFIX):
        raise FileRefused(rel, "Git LFS pointer, not the file's content")
    text, encoding, bom = decode(data, rel)
    newline, endings, final = _line_style(text)
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(
        path=rel,
        real_path=real,
        repo_root=Path(os.path.realpath(repo_root)),
        data=data,
        text=normal,
        encoding=encoding,
        bom=bom,
        newline=newline,
        line_endings=endings,
        final_newline=final,
        mode=stat.S_IMODE(info.st_mode),
        sha256=sha256(data),
    )


def read_only(mode: int) -> bool:
    """No write bit for anyone: the owner asked that the file not change (a replace by rename
    would still succeed, and root may write anything, so the bits are asked, not the system)."""
    return not mode & 0o222


def disk_change(source: SourceFile) -> str | None:
    """Why ``source``'s file no longer holds the bytes read before generation, or None when it does.

    A FIFO, a socket, a device or a symlink put in the file's place holds none of those bytes; it
    is looked at (``read_regular``), never waited on.

    Raises:
        OSError: the file cannot be read.
    """
    try:
        found = read_regular(source.real_path)
    except NotRegularFile as exc:
        return f"is no longer a regular file ({exc.kind})"
    if found is None or sha256(found[0]) != source.sha256:
        return "changed on disk since it was read"
    return None


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new bytes, never a mix.

    Raises:
        OSError: the write failed; ``path`` is as it was and no temporary file is left.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".fastapply.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data itself is synced
    finally:
        os.close(dir_fd)
