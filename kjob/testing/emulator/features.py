"""Feature gates, as ``kube-apiserver --feature-gates`` sets them, and what a gated-off server drops.

Two gates change what a Job client sees, both alpha (off by default) in 1.28 and beta (on) from
1.29:

* ``JobBackoffLimitPerIndex``: off, the apiserver silently drops ``spec.backoffLimitPerIndex``,
  ``spec.maxFailedIndexes`` and the ``FailIndex`` rules of ``spec.podFailurePolicy`` from a Job it
  creates (``rules`` becomes ``null`` if none is left), so the Job controller never writes
  ``status.failedIndexes``. Defaulting runs before the drop, so a Job sent with
  ``backoffLimitPerIndex`` and no ``backoffLimit`` still gets ``backoffLimit: 2147483647``;
* ``JobPodReplacementPolicy``: off, ``spec.podReplacementPolicy`` is neither defaulted nor kept,
  and ``status.terminating`` is not written.

An update keeps a field the stored Job already has (the real strategies drop only new uses).
Measured on a v1.28.0 apiserver started with ``--feature-gates=JobBackoffLimitPerIndex=false``,
for creates (``dryRun=All`` too) and a patch adding the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kjob.testing.emulator.util import Obj

JOB_BACKOFF_LIMIT_PER_INDEX = "JobBackoffLimitPerIndex"
JOB_POD_REPLACEMENT_POLICY = "JobPodReplacementPolicy"
#: Each gate and the first minor version in which it is on by default.
DEFAULT_ON_SINCE = {JOB_BACKOFF_LIMIT_PER_INDEX: 29, JOB_POD_REPLACEMENT_POLICY: 29}


@dataclass(frozen=True)
class FeatureGates:
    enabled: frozenset[str]

    def __contains__(self, gate: object) -> bool:
        return gate in self.enabled


def feature_gates(minor: int, overrides: Mapping[str, bool] | None = None) -> FeatureGates:
    """The gates of a server of version ``1.<minor>``, with ``overrides`` applied."""
    unknown = sorted(set(overrides or {}) - set(DEFAULT_ON_SINCE))
    if unknown:
        raise ValueError(
            f"unknown feature gate(s) {', '.join(unknown)} (known: {', '.join(DEFAULT_ON_SINCE)})"
        )
    on = {gate: minor >= since for gate, since in DEFAULT_ON_SINCE.items()}
    on.update(overrides or {})
    return FeatureGates(frozenset(gate for gate, value in on.items() if value))


def _fail_index_rules(spec: Obj | None) -> bool:
    policy = (spec or {}).get("podFailurePolicy")
    rules = policy.get("rules") if isinstance(policy, dict) else None
    return any(isinstance(r, dict) and r.get("action") == "FailIndex" for r in rules or [])


def drop_disabled_job_fields(spec: Obj, old: Obj | None, gates: FeatureGates) -> None:
    """``dropDisabledFields`` of the Job strategy, on a Job's spec (``old``: the stored one's)."""
    had = old or {}
    if JOB_BACKOFF_LIMIT_PER_INDEX not in gates:
        for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if had.get(key) is None:
                spec.pop(key, None)
        policy = spec.get("podFailurePolicy")
        if isinstance(policy, dict) and not _fail_index_rules(had) and _fail_index_rules(spec):
            kept = [r for r in policy.get("rules") or [] if r.get("action") != "FailIndex"]
            policy["rules"] = kept or None
    if JOB_POD_REPLACEMENT_POLICY not in gates and had.get("podReplacementPolicy") is None:
        spec.pop("podReplacementPolicy", None)
