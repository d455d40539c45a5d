"""Building ``synchronization`` (mutexes and semaphores) and ``memoize``, as Argo (3.6 and later) writes
them: ``synchronization: {mutexes: [{name}], semaphores: [{configMapKeyRef: {name, key}}]}`` and
``memoize: {key, maxAge, cache: {configMap: {name}}}``.  Names and keys may hold references; they are
rendered as the node starts, so they are remembered as reference sites here."""

from __future__ import annotations

import re

from kjob.errors import KjobError
from kjob.spec import fields as F
from kjob.spec.durations import parse_duration
from kjob.spec.model import LockRef, Mark, Memoize
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap

CACHE_KEY = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")  # Argo's: a cache key is a ConfigMap data key
_MUTEXES_HINT = "write `mutexes: [{name: NAME}]`"
_SEMAPHORES_HINT = "write `semaphores: [{configMapKeyRef: {name: NAME, key: KEY}}]`"
CACHE_KEY_HINT = "a memoize key is letters, digits and '-', starting with a letter or digit"


def synchronization(r: Reader, node: YamlMap, where: str) -> tuple[LockRef, ...]:
    """The locks of ``node``'s ``synchronization`` (a workflow spec or a template), mutexes first."""
    sync = r.mapping(node, "synchronization")
    if sync is None:
        return ()
    r.fields(sync, F.SYNCHRONIZATION, f"synchronization of {where}")
    locks: list[LockRef] = []
    mutexes = [*_single(r, sync, "mutex"), *r.items(r.sequence(sync, "mutexes", hint=_MUTEXES_HINT), "mutex")]
    for entry, mark in mutexes:
        r.fields(entry, F.MUTEX)
        name = _required_text(r, entry, "name", "mutex name", mark)
        if name is not None:
            locks.append(
                LockRef("mutex", name, None, _namespace(r, entry), bool(r.boolean(entry, "database")), mark)
            )
    semaphores = r.items(r.sequence(sync, "semaphores", hint=_SEMAPHORES_HINT), "semaphore")
    for entry, mark in [*_single(r, sync, "semaphore"), *semaphores]:
        r.fields(entry, F.SEMAPHORE)
        lock = _semaphore(r, entry, mark)
        if lock is not None:
            locks.append(lock)
    return tuple(locks)


def _single(r: Reader, sync: YamlMap, key: str) -> list[tuple[YamlMap, Mark]]:
    """Argo 3.5's ``mutex:`` / ``semaphore:`` (one lock, a mapping), read as a list of one."""
    node = r.mapping(sync, key)
    return [] if node is None else [(node, r.src.key(sync, key))]


def _semaphore(r: Reader, entry: YamlMap, mark: Mark) -> LockRef | None:
    ref = r.mapping(entry, "configMapKeyRef")
    database = r.mapping(entry, "database")
    if ref is not None and database is not None:
        r.diag.error("a semaphore has both configMapKeyRef and database", mark, hint="keep one of them")
        return None
    if ref is not None:
        r.fields(ref, F.CONFIG_MAP_KEY_REF)
        name = _required_text(r, ref, "name", "semaphore ConfigMap name", mark)
        key = _required_text(r, ref, "key", "semaphore ConfigMap key", mark)
        if name is None or key is None:
            return None
        return LockRef("semaphore", name, key, _namespace(r, entry), False, mark)
    if database is not None:
        r.fields(database, F.SYNC_DATABASE_REF)
        key = _required_text(r, database, "key", "semaphore database key", mark)
        return None if key is None else LockRef("semaphore", key, None, _namespace(r, entry), True, mark)
    r.diag.error(
        "a semaphore needs configMapKeyRef (the ConfigMap key that holds its limit)",
        mark,
        hint="write `configMapKeyRef: {name: CONFIGMAP, key: KEY}`",
    )
    return None


def _namespace(r: Reader, entry: YamlMap) -> str | None:
    return r.string(entry, "namespace") or None


def _required_text(r: Reader, node: YamlMap, key: str, label: str, mark: Mark) -> str | None:
    value = r.text(node, key, label)
    if not value:
        r.diag.error(f"{label} is missing", r.src.value(node, key) if key in node else mark)
        return None
    return value


def memoize(r: Reader, node: YamlMap, where: str) -> Memoize | None:
    """A template's ``memoize``: its key, its cache's name and ``maxAge`` (a Go duration, as Argo)."""
    memo = r.mapping(node, "memoize")
    if memo is None:
        return None
    mark = r.src.key(node, "memoize")
    r.fields(memo, F.MEMOIZE, f"memoize of {where}")
    key = _required_text(r, memo, "key", "memoize key", mark)
    cache = r.mapping(memo, "cache")
    cache_name: str | None = None
    if cache is None:
        r.diag.error("memoize needs a cache", mark, hint="write `cache: {configMap: {name: NAME}}`")
    else:
        r.fields(cache, F.CACHE)
        config_map = r.mapping(cache, "configMap")
        if config_map is None:
            r.diag.error("memoize cache needs a configMap", r.src.key(memo, "cache"))
        else:
            r.fields(config_map, F.CACHE_CONFIG_MAP)
            cache_name = _required_text(
                r, config_map, "name", "memoize cache name", r.src.key(cache, "configMap")
            )
    max_age = _max_age(r, memo)
    if key is not None and "{{" not in key and "<<" not in key and not CACHE_KEY.fullmatch(key):
        r.diag.error(f"invalid memoize key '{key}'", r.src.value(memo, "key"), hint=CACHE_KEY_HINT)
        return None
    if key is None or cache_name is None:
        return None
    return Memoize(key=key, cache=cache_name, max_age=max_age, mark=mark)


def _max_age(r: Reader, memo: YamlMap) -> float | None:
    """``maxAge`` as Go's ``time.ParseDuration`` reads it (Argo's): a unit is required, except for 0."""
    text = r.string(memo, "maxAge")
    if not text:
        return None
    mark = r.src.value(memo, "maxAge")
    hint = 'write a Go duration like "30s", "10m" or "24h"'
    if text != "0" and text.strip().lstrip("+-").replace(".", "").isdigit():
        r.diag.error(f"maxAge '{text}' has no unit", mark, hint=hint)
        return None
    try:
        return parse_duration(text)
    except KjobError as err:
        r.diag.error(f"invalid maxAge: {err.message}", mark, hint=hint)
        return None
