"""Advice: workflows that are valid but hold a trap, reported as warnings (never errors).

Templates are substituted as plain text, as Argo does, so a value is pasted into whatever text holds
its reference.  Two places where that bites, whatever the value:

* **shell code** — a ``script`` whose interpreter is a shell, or the command string of ``sh -c`` /
  ``bash -c``: a parameter or task output pasted there is run as code (a quote, ``$(...)``, ``;`` or a
  newline in the value changes the command), quoted or not.  The safe form passes it in the
  environment (``env: [{name: X, value: "{{inputs.parameters.x}}"}]``) and uses ``"$X"``.
* **a quoted** ``when`` — ``'{{tasks.a.outputs.result}}' == 'yes'``: a quote in the output ends the
  string early (and can rewrite the condition), and numbers are compared as text (``'9' > '10'`` is
  true).  Unquoted, a number compares as a number and a word as a word.

Each warning points at the reference and shows the safe form.  The checks run on what the loader
kept of the file (:class:`~kjob.spec.loaded.Site`), after :mod:`kjob.spec.validate` found no error.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence

from kjob.errors import TemplateError
from kjob.expr import Part, Ref, parse_template
from kjob.spec.diagnostics import Diagnostics
from kjob.spec.loaded import LoadedTemplate, LoadedWorkflow, Site, SiteKind
from kjob.spec.model import Container

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"})
# Programs that run the rest of their arguments as a command: ``env FOO=1 sh -c ...``, ``busybox sh``.
LAUNCHERS = frozenset({"env", "busybox", "exec", "nice", "nohup", "tini", "dumb-init"})
# Long shell options that take the next word as their value (``bash --rcfile FILE -c '...'``).
LONG_OPTIONS_WITH_VALUE = frozenset({"--rcfile", "--init-file"})
# A quote right before a task's or step's reference: the cheap test before parsing a when.
_QUOTED_OUTPUT_HINT = re.compile(r"['\"]\s*(?:\{\{|<<)\s*(?:tasks|steps)\.")
_COMPARISON = re.compile(r"\s*(==|!=|<=|>=|=~|!~|<|>)")
_COMPARED_BEFORE = re.compile(r"(==|!=|<=|>=|=~|!~|<|>)\s*$")
_NUMBER = re.compile(r"\s*['\"]?-?\d+(\.\d+)?['\"]?\s*$")
# A quoted literal that means the same unquoted: a number, or a bare word (it has a letter or '_').
_PLAIN_LITERAL = re.compile(r"(['\"])(-?\d+(?:\.\d+)?|(?=[\w.-]*[A-Za-z_])[A-Za-z0-9_.][\w.-]*)\1", re.ASCII)


def advise(loaded: LoadedWorkflow, diag: Diagnostics) -> None:
    """Report each trap of :mod:`this module <kjob.spec.advice>` found in ``loaded`` into ``diag``."""
    for template in loaded.templates:
        for site in shell_code(template):
            _pasted_into_shell(site, loaded.argo, diag)
        for site in template.sites:
            if site.kind is SiteKind.WHEN:
                _quoted_when(site, loaded.argo, diag)


# -------------------------------------------------------------------------------------- shell code


def shell_code(template: LoadedTemplate) -> Iterator[Site]:
    """The texts of ``template`` that a shell runs as code: a shell script's source, or the command
    string of ``sh -c``."""
    container = template.template.container
    if container is None:
        return
    wanted: set[str] = set()
    if container.is_script:
        if _is_shell(container.command):
            wanted.add("source")
    else:
        index = shell_command_string(container)
        if index is not None:
            words = len(container.command)
            wanted.add(f"command[{index}]" if index < words else f"args[{index - words}]")
    for site in template.sites:
        if site.task is None and site.field in wanted:
            yield site


def shell_command_string(container: Container) -> int | None:
    """The index in ``command + args`` of the string a shell runs with ``-c``, or ``None``."""
    argv = [*container.command, *container.args]
    at = _skip_launchers(argv)
    if at >= len(argv) or posixpath.basename(argv[at]) not in SHELLS:
        return None
    at += 1
    dash_c = False
    while at < len(argv) and argv[at][:1] in ("-", "+") and argv[at] not in ("-", "--"):
        word = argv[at]
        letters = "" if word.startswith("--") else word[1:]
        dash_c = dash_c or "c" in letters
        # ``-o pipefail`` (also at the end of a cluster: ``-euo pipefail``) and ``--rcfile FILE`` take
        # the next word as their value.
        at += 2 if letters[-1:] in ("o", "O") or word in LONG_OPTIONS_WITH_VALUE else 1
    if at < len(argv) and argv[at] == "--":
        at += 1
    return at if dash_c and at < len(argv) else None


def _is_shell(command: Sequence[str]) -> bool:
    at = _skip_launchers(command)
    return at < len(command) and posixpath.basename(command[at]) in SHELLS


def _skip_launchers(argv: Sequence[str]) -> int:
    """The index of the program a launcher chain (``env A=1 busybox sh``) finally runs."""
    at = 0
    while at < len(argv) and posixpath.basename(argv[at]) in LAUNCHERS:
        at += 1
        while at < len(argv) and (argv[at].startswith("-") or "=" in argv[at]):
            at += 1  # env's options and NAME=value assignments
    return at


def _pasted_into_shell(site: Site, argo: bool, diag: Diagnostics) -> None:
    seen: set[str] = set()
    for ref in _refs(site.text, argo):
        if ref.path in seen or not is_value(ref.path):
            continue
        seen.add(ref.path)
        name, written = env_name(ref.path), _written(ref.path, argo)
        diag.warn(
            f"{ref.path} is pasted into shell code ({site.field}): a quote, $(...), ';' or a newline "
            "in its value changes the command, quoted or not",
            site.locator.at(site.text, ref.column),
            hint=f'pass it in the environment instead, env: [{{name: {name}, value: "{written}"}}], '
            f'and write "${name}" in the script',
        )


def is_value(path: str) -> bool:
    """Whether a reference stands for a value from outside the template's text: a parameter, an item
    or a task's output (not a name kjob makes, such as ``workflow.name`` or an artifact's path)."""
    parts = path.split(".")
    root = parts[0]
    if root in ("inputs", "workflow"):
        return len(parts) >= 2 and parts[1] == "parameters"
    if root in ("tasks", "steps"):
        return len(parts) >= 4 and parts[2] == "outputs" and parts[3] in ("result", "parameters")
    return root == "item"


def env_name(path: str) -> str:
    """A variable name for the value of ``path``: ``inputs.parameters.file-name`` -> ``FILE_NAME``,
    ``tasks.fetch.outputs.result`` -> ``FETCH_RESULT``."""
    parts = path.split(".")
    if parts[0] in ("tasks", "steps") and len(parts) >= 4:
        words = [parts[1], parts[-1]]
    elif parts[0] == "item":
        words = parts
    else:
        words = parts[-1:]
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(words)).strip("_").upper() or "VALUE"
    return f"V_{name}" if name[0].isdigit() else name


# -------------------------------------------------------------------------------------- when


def _quoted_when(site: Site, argo: bool, diag: Diagnostics) -> None:
    if not _QUOTED_OUTPUT_HINT.search(site.text):  # most whens: no need to parse them again
        return
    parts = _parts(site.text, argo)
    quoted = [(i, part) for i, part in enumerate(parts) if isinstance(part, Ref) and _quoted_output(parts, i)]
    if not quoted:
        return
    safer = unquoted_when(site.text, [part.path for _, part in quoted])
    for index, part in quoted:
        before, after = str(parts[index - 1]), str(parts[index + 1])
        quote = "single" if before.rstrip()[-1] == "'" else "double"
        diag.warn(
            f"when quotes {part.path}: a {quote} quote in the output ends the string early (and can "
            f"rewrite the condition){_as_text(before, after)}",
            site.locator.at(site.text, part.column),
            hint=f"compare it unquoted, when: {_yaml_string(safer)}: a number then compares as a number "
            "and a word as a word; have the task print one word or number",
        )


def _quoted_output(parts: Sequence[Part], index: int) -> bool:
    """Whether ``parts[index]`` is a task output between two of the same quotes."""
    part = parts[index]
    if not isinstance(part, Ref) or not is_task_output(part.path) or not 0 < index < len(parts) - 1:
        return False
    before, after = parts[index - 1], parts[index + 1]
    if not isinstance(before, str) or not isinstance(after, str):
        return False
    quote = before.rstrip()[-1:]
    return quote in ("'", '"') and after.lstrip().startswith(quote)


def unquoted_when(text: str, paths: Sequence[str]) -> str:
    """``text`` with the quotes around the references to ``paths`` dropped, and those around plain
    words and numbers (``'yes'``, ``'10'``) too, since a word compares as a word and a number as a
    number: ``'{{tasks.a.outputs.result}}' == '10'`` -> ``{{tasks.a.outputs.result}} == 10``."""
    for path in paths:
        ref = rf"(\{{\{{\s*{re.escape(path)}\s*\}}\}}|<<\s*{re.escape(path)}\s*>>)"
        text = re.sub(rf"(['\"])\s*{ref}\s*\1", r"\2", text)
    return _PLAIN_LITERAL.sub(r"\2", text)


def is_task_output(path: str) -> bool:
    """``tasks.NAME.outputs.result`` or ``.outputs.parameters.NAME`` (also of steps)."""
    return path.startswith(("tasks.", "steps.")) and is_value(path)


def _as_text(before: str, after: str) -> str:
    """``, and numbers compare as text ...`` where the comparison orders or the other side looks like a
    number; nothing for ``==`` with a word or for a regex match, where text is meant."""
    rest = after.lstrip()[1:]
    head = before.rstrip()[:-1]
    forward = _COMPARISON.match(rest)
    backward = _COMPARED_BEFORE.search(head)
    operator = forward.group(1) if forward else backward.group(1) if backward else None
    if operator in ("=~", "!~") or operator is None:
        return ""
    other = rest[forward.end() :] if forward else head[: backward.start()] if backward else ""
    other = re.split(r"&&|\|\||\)", other)[0] if forward else re.split(r"&&|\|\||\(", other)[-1]
    if operator in ("<", ">", "<=", ">=") or _NUMBER.fullmatch(other):
        return ", and numbers compare as text ('9' > '10' is true)"
    return ""


# -------------------------------------------------------------------------------------- helpers


def _parts(text: str, argo: bool) -> tuple[Part, ...]:
    try:
        return parse_template(text, argo_braces=argo).parts
    except TemplateError:  # reported by validate; nothing to advise on
        return ()


def _refs(text: str, argo: bool) -> Iterator[Ref]:
    return (part for part in _parts(text, argo) if isinstance(part, Ref))


def _yaml_string(text: str) -> str:
    """``text`` as a YAML string to paste after ``when:``."""
    if '"' not in text and "\\" not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "''") + "'"


def _written(path: str, argo: bool) -> str:
    return f"{{{{{path}}}}}" if argo else f"<< {path} >>"
