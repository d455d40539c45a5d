"""Reading ``synchronization`` and ``memoize``: what the model holds, and each mistake as one located
error with a hint."""

from __future__ import annotations

import pytest

from kjob.spec import load_text
from kjob.spec.model import LockRef, Memoize
from tests.test_spec_errors import HEAD, errors

LOCKED = """\
  - name: main
    synchronization:
      mutex: {name: single}
      mutexes: [{name: "m-{{workflow.name}}", namespace: other}, {name: db, database: true}]
      semaphores:
      - configMapKeyRef: {name: cfg, key: k}
      - database: {key: shared}
    memoize:
      key: "k-{{workflow.name}}"
      maxAge: 1h30m
      cache: {configMap: {name: cache}}
    container: {image: alpine}
"""


def test_the_model_holds_every_lock_and_the_memoize_settings() -> None:
    workflow = load_text(
        HEAD.replace(
            "spec:\n", "spec:\n  synchronization: {semaphores: [{configMapKeyRef: {name: wf, key: n}}]}\n"
        )
        + LOCKED,
        path="wf.yaml",
    ).workflows[0]
    main = workflow.templates["main"]
    assert [
        (lock.kind, lock.name, lock.key, lock.namespace, lock.database) for lock in main.synchronization
    ] == [
        ("mutex", "single", None, None, False),
        ("mutex", "m-{{workflow.name}}", None, "other", False),
        ("mutex", "db", None, None, True),
        ("semaphore", "cfg", "k", None, False),
        ("semaphore", "shared", None, None, True),
    ]
    assert main.memoize == Memoize(
        key="k-{{workflow.name}}", cache="cache", max_age=5400.0, mark=main.memoize.mark
    )
    assert [(lock.kind, lock.name, lock.key) for lock in workflow.synchronization] == [
        ("semaphore", "wf", "n")
    ]
    assert isinstance(workflow.synchronization[0], LockRef)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    synchronization: {semaphores: [{namespace: x}]}\n",
            "wf.yaml:8:36: error: a semaphore needs configMapKeyRef (the ConfigMap key that holds its limit)\n"
            "  hint: write `configMapKeyRef: {name: CONFIGMAP, key: KEY}`",
        ),
        (
            "    synchronization: {mutexes: [{nme: x}]}\n",
            "wf.yaml:8:33: error: mutex name is missing\n"
            "wf.yaml:8:34: error: unknown field 'nme' in mutex\n  hint: did you mean 'name'?",
        ),
        (
            "    memoize: {key: a, maxAge: 10, cache: {configMap: {name: c}}}\n",
            'wf.yaml:8:31: error: maxAge \'10\' has no unit\n  hint: write a Go duration like "30s", "10m" or "24h"',
        ),
        (
            "    memoize: {key: 'a b', cache: {configMap: {name: c}}}\n",
            "wf.yaml:8:20: error: invalid memoize key 'a b'\n"
            "  hint: a memoize key is letters, digits and '-', starting with a letter or digit",
        ),
        (
            "    memoize: {key: a}\n",
            "wf.yaml:8:5: error: memoize needs a cache\n  hint: write `cache: {configMap: {name: NAME}}`",
        ),
    ],
    ids=[
        "semaphore without configMapKeyRef",
        "misspelt mutex field",
        "maxAge without unit",
        "bad key",
        "no cache",
    ],
)
def test_mistake(body: str, expected: str) -> None:
    assert errors(HEAD + "  - name: main\n" + body + "    container: {image: alpine}\n") == expected
