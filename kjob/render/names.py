"""Deterministic object names and labels, so re-running or resuming a run never duplicates work.

A Job's name is a function of (run id, node id, attempt) only: the readable part is cut to fit, the
hash keeps it unique.  Job names are DNS-1123 labels of at most 63 characters (the Job controller
copies the name into the pods' ``job-name`` label, whose values have that limit).
"""

from __future__ import annotations

import hashlib
import re

LABEL_RUN = "kjob.dev/run"
LABEL_TASK = "kjob.dev/task"
LABEL_NODE = "kjob.dev/node"
LABEL_ATTEMPT = "kjob.dev/attempt"
LABEL_ROLE = "kjob.dev/role"
ANNOTATION_NODE_ID = "kjob.dev/node-id"
ANNOTATION_INPUTS = "kjob.dev/inputs"
LABEL_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # set by the Job controller
ANNOTATION_CREATOR = "kjob.dev/created-by"  # a token of the client that created the run object
ANNOTATION_TTL = "kjob.dev/ttl-seconds-after-finished"  # set on the Job once its outcome is read
ANNOTATION_ENDED = "kjob.dev/ended"  # on the run object: how the run ended (JSON), see runend.py

_MAX = 63


def slug(text: str, limit: int = _MAX) -> str:
    """Lower-case letters, digits and '-', starting and ending alphanumeric, at most ``limit``."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:limit].strip("-") or "x"


def node_hash(run_id: str, node_id: str) -> str:
    return hashlib.sha256(f"{run_id}\0{node_id}".encode()).hexdigest()[:8]


def job_name(run_id: str, node_id: str, attempt: int, *, room: int = 0) -> str:
    """``<run>-<task>-<hash>-<attempt>``, cut to 63 characters (less ``room``), the same every time."""
    suffix = f"-{node_hash(run_id, node_id)}-{attempt}"
    base = slug(f"{run_id}-{node_id}", _MAX - room - len(suffix))
    return base + suffix


# An Indexed Job's pods are named for the host ``<job>-<index>``, a DNS label too: the API server
# refuses an Indexed Job whose last index would not fit (``will not able to create pod with invalid
# DNS label``), so its name leaves room for ``-`` and the longest index one can have.
INDEXED_ROOM = 1 + len(str(100_000 - 1))


def label_value(text: str) -> str:
    """A valid label value (at most 63 of ``[A-Za-z0-9._-]``, alphanumeric at both ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:_MAX]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def run_selector(run_id: str) -> str:
    return f"{LABEL_RUN}={label_value(run_id)}"
