"""The outputs of a ``dag`` or ``steps`` template, resolved from its tasks as it ends (Argo's
``getTemplateOutputsFromScope``).

An output parameter takes ``valueFrom.expression`` (an expression over the template's values:
``tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : ...``), else
``valueFrom.parameter`` (a text with references: ``{{steps.x.outputs.parameters.y}}``), else ``value``;
when that cannot be resolved (an absent output, an expression error) its ``valueFrom.default`` stands
in, else the template ends in error.  An output artifact takes ``fromExpression`` or ``from``.
"""

from __future__ import annotations

from kjob.engine.lookup import Lookup
from kjob.errors import KjobError, TemplateError
from kjob.expr import Absent, compile_expression, render
from kjob.expr.template import render_expression
from kjob.spec.model import Artifact, Parameter, Template


def scope_outputs(
    template: Template, lookup: Lookup, *, argo: bool, max_chars: int
) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters, artifacts) of ``template`` with ``lookup`` seeing its tasks, inputs and the
    workflow; KjobError naming the output that cannot be resolved."""
    parameters: dict[str, str] = {}
    for parameter in template.outputs.parameters:
        try:
            value = _parameter(parameter, lookup, argo, max_chars)
        except (TemplateError, Absent) as err:
            if parameter.value_from_default is None:
                raise KjobError(f"output parameter '{parameter.name}': {_reason(err)}") from None
            value = parameter.value_from_default
        if value is not None:
            parameters[parameter.name] = value
    artifacts: dict[str, str] = {}
    for artifact in template.outputs.artifacts:
        try:
            source = _artifact(artifact, lookup, argo, max_chars)
        except (TemplateError, Absent) as err:
            if artifact.optional:
                continue
            raise KjobError(f"output artifact '{artifact.name}': {_reason(err)}") from None
        if source is not None:
            artifacts[artifact.name] = source
    return parameters, artifacts


def expression_value(text: str, lookup: Lookup) -> str:
    """An expression field (``valueFrom.expression``, ``fromExpression``) evaluated with ``lookup``'s
    references as its variables, written as an expression tag writes it."""
    return render_expression(compile_expression(text), lookup)


def _parameter(parameter: Parameter, lookup: Lookup, argo: bool, max_chars: int) -> str | None:
    if parameter.value_from_expression is not None:
        return expression_value(parameter.value_from_expression, lookup)
    text = parameter.value_from_parameter if parameter.value_from_parameter is not None else parameter.value
    if text is None:
        return None
    return render(text, lookup, argo_braces=argo, max_chars=max_chars)


def _artifact(artifact: Artifact, lookup: Lookup, argo: bool, max_chars: int) -> str | None:
    if artifact.from_expression is not None:
        return expression_value(artifact.from_expression, lookup)
    if artifact.from_ is None:
        return None
    return render(artifact.from_, lookup, argo_braces=argo, max_chars=max_chars)


def _reason(err: TemplateError | Absent) -> str:
    if isinstance(err, TemplateError):
        return f"{err.message} (in '{err.text}')"
    return f"'{err.args[0] if err.args else ''}' is absent (its task was skipped or omitted)"
