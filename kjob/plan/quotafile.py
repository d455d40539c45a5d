"""``--quota FILE``: ResourceQuotas and LimitRanges as ``kubectl get resourcequota,limitrange -o yaml``
prints them (a ``List``) or as a multi-document stream; a mistake is a located one-line error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kjob.errors import KjobError, SpecError
from kjob.plan.quota import Limits, QuotaObjectError, read_objects

HINT = "give the output of `kubectl get resourcequota,limitrange -n NS -o yaml`"


def load_quota_file(path: str) -> Limits:
    """The quota objects in the YAML file ``path``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    try:
        with open(path) as f:
            text = f.read()
    except OSError as err:
        raise KjobError(f"--quota {path}: {err.strerror or err}", hint=HINT) from None
    try:
        documents = list(YAML(typ="rt").load_all(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise SpecError(f"not YAML: {err.problem or err}", path=path, line=line, col=col, hint=HINT) from None
    try:
        limits = read_objects(([i], doc) for i, doc in enumerate(documents))
    except QuotaObjectError as err:
        line, col = _locate(documents, err.path)
        raise SpecError(str(err), path=path, line=line, col=col, hint=HINT) from None
    if not limits.quotas and not limits.ranges:
        raise SpecError("no ResourceQuota or LimitRange in the file", path=path, line=1, col=1, hint=HINT)
    return limits


def _locate(documents: Sequence[Any], path: Sequence[str | int]) -> tuple[int, int]:
    """The 1-based line and column of ``path`` (document index, then keys and indexes), or of the
    deepest part of it that exists."""
    if not path or not isinstance(path[0], int) or path[0] >= len(documents):
        return 1, 1
    node = documents[path[0]]
    place = (1, 1)
    lc = getattr(node, "lc", None)
    if lc is not None:
        place = (lc.line + 1, lc.col + 1)
    for step in path[1:]:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                line, col = lc.key(step) if isinstance(step, str) else lc.item(step)
                place = (line + 1, col + 1)
            node = node[step]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return place
