"""``$(VAR)`` and ``$$`` in a container's command, args and env values, read as the kubelet reads them.

The kubelet rewrites these strings before the container starts (Kubernetes' forked Go ``expansion``
package; the rules are restated here, not copied):

* ``$(NAME)`` becomes the value of the container's variable ``NAME``; a name the container does not
  have stays exactly as written, ``$(NAME)`` (no error, no empty string);
* ``$$`` becomes one ``$``, so ``$$(NAME)`` is the literal text ``$(NAME)`` and ``$$`` alone is ``$``;
* a ``$`` followed by anything else, a ``$`` at the very end, and a ``$(`` with no closing ``)`` stay
  as they are (scanning goes on right after the ``$(``);
* env values are expanded in the order they are declared, each seeing only the variables declared
  before it (an ``envFrom`` source counts as declared first); an empty value is left alone;
* command and args are expanded with the container's whole environment, never the image's own
  variables (``PATH`` and ``HOME`` of the image are not in it).

Pure functions on strings, with no kjob imports: the local backend, the Kubernetes backend (which
hands an Indexed Job's items their commands already expanded) and the API emulator's kubelet all
mean the same thing by the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

_OPERATOR = "$"
_OPEN = "("
_CLOSE = ")"


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with every ``$(NAME)`` the kubelet would replace replaced and ``$$`` made ``$``."""
    if _OPERATOR not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        dollar = text.find(_OPERATOR, i)
        if dollar == -1 or dollar == n - 1:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        following = text[dollar + 1]
        if following == _OPERATOR:
            out.append(_OPERATOR)
            i = dollar + 2
        elif following == _OPEN:
            close = text.find(_CLOSE, dollar + 2)
            if close == -1:
                out.append(_OPERATOR + _OPEN)  # unterminated: kept, and the scan goes on after it
                i = dollar + 2
                continue
            name = text[dollar + 2 : close]
            out.append(variables[name] if name in variables else text[dollar : close + 1])
            i = close + 1
        else:
            out.append(text[dollar : dollar + 2])
            i = dollar + 2
    return "".join(out)


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to with ``$(NAME)`` (an escaped ``$$(NAME)`` is not one)."""
    found: list[str] = []
    if _OPERATOR not in text:
        return found
    i, n = 0, len(text)
    while True:
        dollar = text.find(_OPERATOR, i)
        if dollar == -1 or dollar >= n - 1:
            return found
        following = text[dollar + 1]
        if following == _OPEN:
            close = text.find(_CLOSE, dollar + 2)
            if close != -1:
                found.append(text[dollar + 2 : close])
                i = close + 1
                continue
        i = dollar + 2


def container_env(
    declared: Iterable[tuple[str, str]], sources: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The values a container's declared variables end up with: each value expanded with ``sources``
    (``envFrom``) and the variables declared before it.  A later declaration of a name wins."""
    env: dict[str, str] = dict(sources or {})
    for name, value in declared:
        env[name] = expand(value, env) if value else value
    return env


def command(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """A container's command and args as its process receives them."""
    return [expand(word, env) for word in argv]
