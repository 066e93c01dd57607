"""What keeps the dashboard from reaching outside its data folder or acting without leave.

* :class:`DataRoot` turns a path from a request (always relative to the data folder) into a
  real path, refusing absolute paths, ``..``, NUL bytes, hidden parts and anything whose
  resolved location (symlinks followed) lies outside the folder.
* :func:`check_token` compares the job/upload token in constant time.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path, PurePosixPath

TOKEN_HEADER = "X-MMExpert-Token"
"""HTTP header that carries the token for job-starting and upload requests."""

TOKEN_ENV = "MMEXPERT_TOKEN"
"""Environment variable that sets the token instead of a random one."""

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class PathRefusedError(ValueError):
    """A request path that is absolute, climbs out of the data folder, or does not exist."""


class PathMissingError(PathRefusedError):
    """A request path that is allowed but names nothing."""


class DataRoot:
    """The data folder the dashboard serves; every request path is resolved through it.

    Parameters
    ----------
    root
        The data folder (must exist).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        if not path.is_dir():
            raise PathRefusedError(f"data folder {path} does not exist or is not a folder")
        self.root = path.resolve()

    def resolve(self, relative: str, must_exist: bool = True) -> Path:
        """The real path of ``relative`` (POSIX, relative to the data folder).

        Parameters
        ----------
        relative
            ``"."`` or ``""`` for the data folder itself, else e.g. ``"runs/r1/store"``.
        must_exist
            Refuse paths that do not exist.

        Returns
        -------
        Path
            The resolved absolute path, inside the data folder.

        Raises
        ------
        PathRefusedError
            For absolute paths, ``..`` parts, backslashes, NUL bytes, hidden parts (``.x``),
            paths that resolve (through symlinks) outside the data folder, or missing paths.
        """
        text = relative.strip()
        if "\x00" in text or "\\" in text:
            raise PathRefusedError(f"path {relative!r} holds a NUL byte or a backslash")
        pure = PurePosixPath(text or ".")
        if pure.is_absolute() or text.startswith("~"):
            raise PathRefusedError(f"path {relative!r} must be relative to the data folder")
        parts = [part for part in pure.parts if part != "."]
        if any(part == ".." for part in parts):
            raise PathRefusedError(f"path {relative!r} climbs out of the data folder ('..')")
        if any(part.startswith(".") for part in parts):
            raise PathRefusedError(f"path {relative!r} names a hidden file or folder")
        candidate = self.root.joinpath(*parts).resolve()
        if not candidate.is_relative_to(self.root):
            raise PathRefusedError(f"path {relative!r} leads outside the data folder")
        if must_exist and not candidate.exists():
            raise PathMissingError(f"path {relative!r} does not exist in the data folder")
        return candidate

    def relative(self, path: Path) -> str:
        """The POSIX path of ``path`` relative to the data folder (``"."`` for the folder)."""
        relative = path.resolve().relative_to(self.root).as_posix()
        return relative or "."

    def contains(self, path: Path) -> bool:
        """True when ``path`` (symlinks followed) lies inside the data folder."""
        return path.resolve().is_relative_to(self.root)


def check_identifier(value: str, what: str) -> str:
    """Refuse identifiers (sample ids, job ids) that are not short plain tokens.

    Raises
    ------
    PathRefusedError
        If ``value`` holds characters other than letters, digits and ``_ . : -`` or is
        longer than 128 characters, or is ``.``/``..``.
    """
    if not _SAFE_ID.match(value) or value in (".", ".."):
        raise PathRefusedError(f"{what} {value!r} is not a valid identifier")
    return value


def new_token() -> str:
    """A random token for job-starting and upload requests (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def check_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the request's token with the server's."""
    if not given:
        return False
    return secrets.compare_digest(expected.encode(), given.encode())
