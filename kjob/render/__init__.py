"""The one place that turns a workflow into Kubernetes objects, as pure functions.

The Jobs the Kubernetes backend creates, ``kjob run --dry-run``, and GitOps plans (``kjob plan -o
DIR``) all make their objects here: names and labels (:mod:`.names`), a task attempt's Job and the run
ConfigMap (:mod:`.manifests`), a fan-out's Indexed Jobs (:mod:`.indexed`), the artifact workspace
(:mod:`.workspace`), the verbs kjob needs (:mod:`.permissions`), sync-wave plans (:mod:`.waves`).

Nothing here talks to a cluster, drives the engine or imports the ``kubernetes`` client:
``tests/test_render_imports.py`` holds the layer to that.
"""
