"""What can be checked of an expression field before the run: its syntax and the references it reads.

* ``valueFrom.expression`` and ``fromExpression`` are expressions as written: parsed now, their
  variables (``tasks.a.outputs.result``) are references like a template's.
* ``retryStrategy.expression`` is a template text first (``{{inputs.parameters.x}} == true``), then an
  expression over ``lastRetry.*``: its references are checked now, and so is the expression when the
  text holds none.
"""

from __future__ import annotations

from kjob.expr.expression import compile_expression
from kjob.expr.template import Ref, parse_template

RETRY_VARIABLES = frozenset(
    {"lastRetry.exitCode", "lastRetry.status", "lastRetry.duration", "lastRetry.message", "retries"}
)


def expression_refs(text: str) -> tuple[Ref, ...]:
    """The references an expression reads; TemplateError (column in ``text``) if it is malformed."""
    return tuple(Ref(path, column) for path, column in compile_expression(text).variables)


def retry_expression_refs(text: str, *, argo_braces: bool = True) -> tuple[Ref, ...]:
    """The template references of a ``retryStrategy.expression`` (its ``lastRetry.*`` variables are
    the retry's own, not references); TemplateError if it is malformed."""
    template = parse_template(text, argo_braces=argo_braces)
    if template.is_literal:
        compile_expression(text)
    return tuple(ref for ref in template.refs if ref.path not in RETRY_VARIABLES)
