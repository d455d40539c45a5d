"""``kjob plan --check-quota``: read the limits (file or cluster), check, print, exit 1 if refused."""

from __future__ import annotations

import sys

from kjob.cli import console
from kjob.errors import KjobError
from kjob.graph import expand
from kjob.plan.quota import Limits, check, plan_levels
from kjob.spec.model import Workflow


def check_quota(
    workflow: Workflow,
    quota_file: str | None,
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    limits: Limits
    if quota_file is not None:
        from kjob.plan.quotafile import load_quota_file

        limits = load_quota_file(quota_file)
        source = quota_file
    else:
        from kjob.backends.kubernetes.configured import kubeconfig_available

        if not kubeconfig_available(kubeconfig):
            raise KjobError(
                "--check-quota: no cluster is configured (no kubeconfig, not in a pod) to read quotas from",
                hint="give --quota FILE (kubectl get resourcequota,limitrange -o yaml), or --kubeconfig FILE",
            )
        from kjob.backends.kubernetes.quota import read_limits

        ns, limits = read_limits(
            kubeconfig=kubeconfig, context=context, namespace=namespace or workflow.namespace
        )
        source = f"namespace {ns}"
    names = [f"resourcequota/{q.name}" for q in limits.quotas] + [
        f"limitrange/{r.name}" for r in limits.ranges
    ]
    console.line(f"quota ({source}): {', '.join(names) or 'none'}")
    levels, assumptions = plan_levels(workflow, expand(workflow), limits)
    verdict = check(levels, limits, assumptions)
    for text in verdict.lines:
        console.line(text)
    for note in verdict.assumptions:
        console.line(f"assumed: {note}")
    console.line("all levels fit" if verdict.fits else "some of the plan will not fit: see above")
    if not verdict.fits:
        sys.exit(1)
