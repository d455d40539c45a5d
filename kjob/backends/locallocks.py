"""``synchronization`` and ``memoize`` for local runs: shared by every kjob run on this machine.

Locks are ``flock`` locks on files under ``$KJOB_HOME/locks/``: a mutex is one file, a semaphore of
limit N is N slot files of which a holder takes the first free one.  The kernel frees a lock when the
process holding it ends, so a run that crashed holds nothing.  A semaphore's limit is read from
``$KJOB_HOME/semaphores.yaml`` (``CONFIGMAP/KEY: N``, or ``KEY: N`` for a database semaphore), else,
when a cluster is configured, from its ConfigMap there.

Memoize caches are JSON files ``$KJOB_HOME/memo/<cache>.json`` holding Argo's entries by key, written
under an ``flock`` of their own so that concurrent runs do not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import quote

from kjob.backends.coordination import Denied, Lock, MemoEntry, rfc3339
from kjob.errors import KjobError

RETRY_EVERY = 0.5  # seconds between tries of a lock another local run holds
LIMITS_FILE = "semaphores.yaml"


class LimitSource(Protocol):
    """Where else a semaphore's limit may be read (a configured cluster's ConfigMap)."""

    def limit(self, lock: Lock) -> int:
        """The limit, or :class:`KjobError` saying why it cannot be read."""

    def close(self) -> None: ...


class FileLocks:
    """Mutexes and semaphores of the local runs under ``home`` (``$KJOB_HOME``); a semaphore's limit
    comes from ``semaphores.yaml`` there, else from ``cluster`` (its ConfigMap, as on Kubernetes)."""

    def __init__(self, home: Path, cluster: LimitSource | None = None) -> None:
        self.home = home
        self.cluster = cluster
        self._open: dict[tuple[Lock, str], IO[bytes]] = {}  # (lock, holder) -> its locked slot file

    @property
    def retry_every(self) -> float | None:
        return RETRY_EVERY

    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        if (lock, holder) in self._open:
            return None
        limit = 1 if lock.kind == "mutex" else self.limit(lock)
        folder = self.home / "locks" / _safe(lock.namespace) / lock.kind / _safe(lock.limit_name)
        folder.mkdir(parents=True, exist_ok=True)
        for slot in range(limit):
            handle = (folder / f"{slot}.lock").open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self._open[(lock, holder)] = handle
            return None
        return Denied(lock, limit, limit)

    def release(self, lock: Lock, holder: str) -> None:
        handle = self._open.pop((lock, holder), None)
        if handle is not None:
            handle.close()  # closing the file gives the flock back

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        if self.cluster is not None:
            self.cluster.close()

    def limit(self, lock: Lock) -> int:
        if self.cluster is None or lock.limit_name in _read_limits(self.home / LIMITS_FILE):
            return configured_limit(self.home, lock, "on the local backend")
        return self.cluster.limit(lock)


def configured_limit(home: Path, lock: Lock, where: str) -> int:
    """A semaphore's limit from ``HOME/semaphores.yaml`` (``where`` says why it is read there)."""
    path = home / LIMITS_FILE
    hint = f"write `{lock.limit_name}: N` in {path}"
    limits = _read_limits(path)
    value = limits.get(lock.limit_name)
    if value is None:
        raise KjobError(f"semaphore {lock.limit_name} has no limit {where}: {hint}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KjobError(f"{path}: the limit of {lock.limit_name} must be a whole number, not {value!r}")
    return value


def _read_limits(path: Path) -> dict[str, object]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise KjobError(f"cannot read {path}: {err.strerror}") from None
    from ruamel.yaml import YAML  # here: only a run with semaphores needs it
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as err:
        raise KjobError(f"{path} is not YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KjobError(f"{path} must map semaphores to limits (`CONFIGMAP/KEY: N`)")
    return {str(k): v for k, v in data.items()}


class FileMemo:
    """Memoize caches under ``home`` (``$KJOB_HOME/memo/``), one JSON file per cache."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "memo"

    def now(self) -> float:
        return time.time()

    def load(self, cache: str, key: str) -> MemoEntry | None:
        with self._locked(cache) as entries:
            raw = entries.get(key)
            if raw is None:
                return None
            entry = MemoEntry.from_argo(raw)
            raw["lastHitTimestamp"] = rfc3339(self.now())
            return entry

    def save(self, cache: str, key: str, entry: MemoEntry) -> None:
        with self._locked(cache) as entries:
            entries[key] = entry.to_argo()

    @contextlib.contextmanager
    def _locked(self, cache: str) -> Iterator[dict[str, dict[str, object]]]:
        """The entries of ``cache``, read and written back under its lock."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{_safe(cache)}.json"
        with (self.folder / f"{_safe(cache)}.lock").open("ab") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                entries = json.loads(path.read_text()) if path.exists() else {}
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise KjobError(f"memoize cache {path} is not JSON", hint="delete the file") from None
            if not isinstance(entries, dict):
                raise KjobError(f"memoize cache {path} is not a JSON object", hint="delete the file")
            before = json.dumps(entries, sort_keys=True)
            yield entries
            after = json.dumps(entries, sort_keys=True, indent=1)
            if json.dumps(entries, sort_keys=True) != before:
                temporary = path.with_suffix(".tmp")
                temporary.write_text(after + "\n")
                os.replace(temporary, path)


def _safe(name: str) -> str:
    """``name`` as one file name (slashes and dots escaped)."""
    return quote(name, safe="-_").replace(".", "%2E") or "%00"
