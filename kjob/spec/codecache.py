"""The compiled methods of kjob's dataclasses, kept between processes.

``@dataclass`` writes each class's ``__init__``, ``__eq__``, ``__hash__``, ``__repr__`` and (frozen)
``__setattr__``/``__delattr__`` as source text and compiles each with ``exec``: for the ~45 frozen
dataclasses a lint loads that was an eighth of its start-up.  While :func:`dataclass_code_cache` is
active, ``dataclasses`` compiles through a cache instead: the code compiled from the same text by the
same interpreter is the same, so it is loaded (``marshal``) rather than compiled again.  The classes
are exactly those ``@dataclass`` makes without it; only where the bytecode comes from changes.

The cache is one file in the user's cache directory (``$XDG_CACHE_HOME/kjob``, else ``~/.cache/kjob``),
named by the interpreter's bytecode magic number, written whole (a temporary file moved into place),
0600 in a 0700 directory, holding only the texts the last writer used (so it never grows), and never
loaded if anyone but this user could have written it.  A missing, damaged or unwritable cache only
means compiling as ``dataclasses`` always does.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import importlib.util
import marshal
import os
from collections.abc import Iterator, Mapping
from types import CodeType
from typing import Any


def cache_path() -> str | None:
    """Where the compiled methods are kept, or ``None`` when there is no home directory.

    (In ``os.path`` terms: importing ``pathlib`` would cost a lint 3% of its start-up.)
    """
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):  # no home directory to be found
        return None
    return os.path.join(root, "kjob", f"dataclasses-{importlib.util.MAGIC_NUMBER.hex()}.code")


def load(path: str | os.PathLike[str]) -> dict[str, CodeType]:
    """The cached code by source text; empty when there is none this user alone could have written."""
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return {}  # code others could have written is never run
            loaded = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, CodeType)}


def save(path: str | os.PathLike[str], codes: Mapping[str, CodeType]) -> None:
    """Write ``codes`` whole or not at all; a cache that cannot be written is no error."""
    with contextlib.suppress(OSError):
        folder, name = os.path.split(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        scratch = os.path.join(folder, f".{name}.{os.getpid()}")
        try:
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                marshal.dump(dict(codes), file)
            os.replace(scratch, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch)


@contextlib.contextmanager
def dataclass_code_cache(path: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Dataclasses created inside this block compile their methods through the cache at ``path``
    (by default :func:`cache_path`); on leaving, the cache is rewritten if anything was compiled."""
    path = path or cache_path()
    if path is None or hasattr(dataclasses, "exec"):  # no cache directory, or one already active
        yield
        return
    known = load(path)
    used: dict[str, CodeType] = {}
    compiled = False

    def exec_cached(source: Any, globals: Any = None, locals: Any = None) -> None:
        nonlocal compiled
        if not isinstance(source, str):
            builtins.exec(source, globals, locals)
            return
        code = used.get(source) or known.get(source)
        if code is None:
            # dont_inherit: compiled as dataclasses' own exec would, without this module's __future__
            code = compile(source, "<string>", "exec", dont_inherit=True)
            compiled = True
        used[source] = code
        builtins.exec(code, globals, locals)

    dataclasses.exec = exec_cached  # type: ignore[attr-defined]  # dataclasses looks exec up here first
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if compiled:  # a process that found everything leaves the file alone, even if it used less
            save(path, used)
