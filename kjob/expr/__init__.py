r"""kjob's expression layer: template strings, ``when`` conditions and ``depends`` expressions.

All three are parsed by one lark grammar (``grammar/kjob.lark``), once per distinct text (cached),
and evaluated by walking the cached tree.  Any problem a user can cause, in any input string, is a
:class:`kjob.errors.TemplateError` whose ``column`` points into the text.

* :mod:`kjob.expr.template` — ``<< ref >>`` (and ``{{ ref }}`` in Argo files) substitution; ``\<<``
  and ``\{{`` are literal delimiters.
* :mod:`kjob.expr.when` — substitute, then evaluate the condition (Argo/govaluate semantics).
* :mod:`kjob.expr.depends` — Argo's enhanced depends over task results.
"""

from kjob.expr.depends import (
    BARE_RESULTS,
    FAN_OUT_RESULTS,
    TASK_RESULTS,
    Depends,
    dependencies_to_depends,
    parse_depends,
)
from kjob.expr.template import (
    Absent,
    AbsentValueError,
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
    "Depends",
    "Lookup",
    "Part",
    "Ref",
    "Template",
    "When",
    "check_when",
    "dependencies_to_depends",
    "evaluate_when",
    "parse_depends",
    "parse_template",
    "parse_when",
    "render",
    "template_source",
]
