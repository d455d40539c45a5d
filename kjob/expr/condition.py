"""Boolean conditions in Argo's expression language: a lifecycle hook's ``expression`` and an ``http``
template's ``successCondition``.

:func:`compile_condition` parses the text once (a syntax error is a located
:class:`~kjob.errors.KjobError`); :meth:`Condition.holds` evaluates it over an environment of nested
maps, as Argo builds it (``tasks["a"].status``, ``workflow.status``, ``response.statusCode``).  The
language itself is :mod:`kjob.expr.expression`'s; this module only asks for a yes or no.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kjob.errors import KjobError

if TYPE_CHECKING:
    from kjob.expr.expression import Compiled


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``text`` as written."""

    text: str
    compiled: Compiled

    def holds(self, env: Mapping[str, object]) -> bool:
        """Whether the condition is true over ``env``; a value that is not a boolean, or one it
        cannot read, is a :class:`~kjob.errors.KjobError`."""
        try:
            value = self.compiled.evaluate(env)
        except KjobError:
            raise
        except LookupError as err:  # an absent value read without ``??``
            raise KjobError(f"expression '{self.text}' reads what is not there: {err}") from None
        if not isinstance(value, bool):
            raise KjobError(f"expression '{self.text}' gave {value!r}, not true or false")
        return value


def compile_condition(text: str) -> Condition:
    """``text`` parsed once; a syntax error is a :class:`~kjob.errors.TemplateError` whose column
    points into ``text``."""
    from kjob.expr.expression import compile_expression

    return Condition(text, compile_expression(text))
