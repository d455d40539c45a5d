r"""kjob's expression layer: template strings, ``when`` conditions and ``depends`` expressions.

All three are parsed by one lark grammar (``grammar/kjob.lark``), once per distinct text (cached),
and evaluated by walking the cached tree.  Any problem a user can cause, in any input string, is a
:class:`kjob.errors.TemplateError` whose ``column`` points into the text.

* :mod:`kjob.expr.template` — ``<< ref >>`` (and ``{{ ref }}`` in Argo files) substitution; ``\<<``
  and ``\{{`` are literal delimiters.
* :mod:`kjob.expr.when` — substitute, then evaluate the condition (Argo/govaluate semantics).
* :mod:`kjob.expr.depends` — Argo's enhanced depends over task results.
* :mod:`kjob.expr.expression` — Argo's expression language: ``{{= ...}}`` tags, ``valueFrom.expression``,
  ``fromExpression`` and ``retryStrategy.expression`` (functions in :mod:`kjob.expr.functions`,
  :mod:`kjob.expr.sprig`, :mod:`kjob.expr.jsonpath`).
"""

from kjob.expr.depends import (
    BARE_RESULTS,
    FAN_OUT_RESULTS,
    TASK_RESULTS,
    Depends,
    dependencies_to_depends,
    parse_depends,
)
from kjob.expr.expression import Absent, Compiled, Namespace, compile_expression, lookup_env, result_text
from kjob.expr.template import (
    AbsentValueError,
    Expr,
    Lookup,
    Part,
    Ref,
    Template,
    parse_template,
    render,
    template_source,
)
from kjob.expr.when import When, check_when, evaluate_when, parse_when

__all__ = [
    "BARE_RESULTS",
    "FAN_OUT_RESULTS",
    "TASK_RESULTS",
    "Absent",
    "AbsentValueError",
    "Compiled",
    "Depends",
    "Expr",
    "Lookup",
    "Namespace",
    "Part",
    "Ref",
    "Template",
    "When",
    "check_when",
    "compile_expression",
    "dependencies_to_depends",
    "evaluate_when",
    "lookup_env",
    "parse_depends",
    "parse_template",
    "parse_when",
    "render",
    "result_text",
    "template_source",
]
