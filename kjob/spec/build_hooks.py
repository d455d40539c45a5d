"""Building lifecycle hooks: a task's or step's ``hooks`` and ``onExit``, and the workflow's ``spec.hooks``.

``onExit: NAME`` is Argo's older spelling of ``hooks: {exit: {template: NAME}}``.  A hook other than
``exit`` needs an ``expression`` (Argo refuses it at run time; kjob at lint), parsed here so that a
mistake in it is reported at its place.  A hook's arguments may read the outputs of the very task it
belongs to (``tasks.A.outputs.result`` in A's exit hook), which the reference checks of
:mod:`kjob.spec.validate` would take for a task reading itself: they are resolved when the hook starts.
"""

from __future__ import annotations

from kjob.spec import build_io
from kjob.spec import fields as F
from kjob.spec.model import EXIT_HOOK, LifecycleHook, Mark
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap


def task_hooks(r: Reader, node: YamlMap, where: str) -> tuple[LifecycleHook, ...]:
    """A task's (or step's) ``hooks``, with its ``onExit`` as the ``exit`` hook."""
    hooks = list(hooks_of(r, node, where))
    on_exit = r.string(node, "onExit")
    if on_exit is not None:
        mark = r.src.value(node, "onExit")
        if any(h.is_exit for h in hooks):
            r.diag.error(
                f"{where} has both onExit and hooks.exit",
                r.src.key(node, "onExit"),
                hint="keep one of them: `hooks: {exit: {template: ...}}` is the newer spelling",
            )
        else:
            hooks.insert(0, LifecycleHook(EXIT_HOOK, on_exit, mark=mark))
    return tuple(hooks)


def hooks_of(r: Reader, node: YamlMap, where: str) -> tuple[LifecycleHook, ...]:
    """The ``hooks`` map of ``node`` (a task, a step or the workflow spec), in file order."""
    body = r.mapping(node, "hooks")
    if body is None:
        return ()
    hooks: list[LifecycleHook] = []
    for key in body:
        name = str(key)
        hook = r.mapping(body, name)
        if hook is None:
            if body.get(name) is None:
                r.wrong_type(body, name, "a hook: `{template: NAME, expression: ...}`")
            continue
        built = _hook(r, hook, name, r.src.key(body, name), f"hook '{name}' of {where}")
        if built is not None:
            hooks.append(built)
    return tuple(hooks)


def _hook(r: Reader, node: YamlMap, name: str, mark: Mark, where: str) -> LifecycleHook | None:
    r.fields(node, F.LIFECYCLE_HOOK, where)
    template = r.string(node, "template")
    if template is None:
        if "templateRef" not in node:
            r.diag.error(f"{where} has no template", mark, hint="add `template: <name of a template>`")
        return None
    expression = r.string(node, "expression")
    if expression is None and name != EXIT_HOOK:
        r.diag.error(
            f"{where} has no expression",
            mark,
            hint='add `expression:` (when to run it, e.g. tasks.A.status == "Running"), or name it `exit`',
        )
    elif expression is not None:
        _check_expression(r, expression, r.src.value(node, "expression"))
    outer, task, item = r.take_sites(), r.current_task, r.item_allowed
    arguments = build_io.io(r, node, "arguments", F.ARGUMENTS, where, None)
    r.sites, r.current_task, r.item_allowed = outer, task, item  # resolved as the hook starts
    return LifecycleHook(name, template, arguments, expression, mark)


def _check_expression(r: Reader, text: str, mark: Mark) -> None:
    """Report a syntax error in a hook's expression at its place."""
    from kjob.errors import TemplateError
    from kjob.expr.condition import compile_condition

    try:
        compile_condition(text)
    except TemplateError as err:
        where = r.src.locator(mark, text).at(text, err.column)
        r.diag.error(f"invalid expression: {err.message}", where, hint=err.hint)
