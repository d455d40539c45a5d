"""Where a task's input parameters take their values, and how an absent output is stood in for.

An input takes the task's argument, else its own ``value``, else its ``default``.  When the argument
is one reference and nothing else (``{{tasks.a.outputs.parameters.x}}``) and it names an output of a
task that did not run (skipped or omitted) with no ``valueFrom.default``, the input's own value or
default stands in, as in Argo >= 4.0.7; without one the task fails with Argo's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kjob.engine.lookup import Lookup
from kjob.engine.substitute import TextFill, compile_text
from kjob.errors import KjobError, TemplateError
from kjob.expr import AbsentValueError, parse_template
from kjob.spec.model import DagTask, Parameter, Template


@dataclass(frozen=True, slots=True)
class InputSource:
    """One input parameter: ``fill`` renders the task's argument, else the input's own value, else
    its default (``None``: nowhere).  ``alone``: the argument is one reference and nothing else, so
    ``fallback`` (the input's own value or default) may stand in for an absent output."""

    param: Parameter
    fill: TextFill | None
    fallback: TextFill | None = None
    alone: bool = False

    def value(self, lookup: Lookup, max_chars: int, config_maps: ConfigMaps | None = None) -> str:
        if self.fill is None and self.param.value_from_config_map is not None:
            return config_map_value(self.param, "inputs", config_maps)
        if self.fill is None:
            raise KjobError(f"input parameter '{self.param.name}' has no value")
        try:
            return self.fill(lookup, max_chars)
        except AbsentValueError:
            if not self.alone:
                raise
            if self.fallback is None:
                # Argo's words (workflow/common/util.go, ProcessArgs, v4.1.2).
                raise KjobError(
                    f"inputs.parameters.{self.param.name}: argument references an absent optional "
                    "(skipped/omitted node output with no default)",
                    hint=f"give input '{self.param.name}' a default, or the producer's output a "
                    "valueFrom.default",
                ) from None
            return self.fallback(lookup, max_chars)


# reads a ConfigMap's key (name, key) in the run's namespace; None when the ConfigMap or the key is not
# there; a KjobError when it cannot be read
ConfigMaps = Callable[[str, str], str | None]


def config_map_value(param: Parameter, role: str, config_maps: ConfigMaps | None) -> str:
    """The value ``valueFrom.configMapKeyRef`` gives ``param`` (its ``valueFrom.default`` when the
    ConfigMap or the key is missing), as Argo reads it."""
    assert param.value_from_config_map is not None
    name, key = param.value_from_config_map
    if config_maps is None:
        raise KjobError(
            f"{role}.parameters.{param.name} comes from ConfigMap '{name}' (configMapKeyRef), which only a "
            "run on Kubernetes can read",
            hint="run it with --backend kubernetes, or give the value another way",
        )
    value = config_maps(name, key)
    if value is not None:
        return value
    if param.value_from_default is not None:
        return param.value_from_default
    raise KjobError(
        f"unable to retrieve {role}.parameters.{param.name} from ConfigMap: no key '{key}' in '{name}'"
    )


def input_sources(task: DagTask, template: Template, *, argo: bool) -> list[InputSource]:
    """Each input parameter of ``template`` called by ``task``, parsed once (for every item of a
    fan-out)."""
    sources: list[InputSource] = []
    for param in template.inputs.parameters:
        own = param.value if param.value is not None else param.default
        own_fill = compile_text(own, argo=argo) if own is not None else None
        arg = task.arguments.parameter(param.name)
        if arg is None or arg.value is None:
            sources.append(InputSource(param, own_fill))
            continue
        try:
            alone = parse_template(arg.value, argo_braces=argo).single_ref is not None
        except TemplateError:
            alone = False  # reported when the argument is rendered
        sources.append(InputSource(param, compile_text(arg.value, argo=argo), own_fill, alone))
    return sources
