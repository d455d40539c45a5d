"""A mutation corpus for fuzzing: the workflow files kjob ships and the tutorial's seed, and hypothesis
strategies that edit them the way a typo, a bad merge or a hostile user would.

Other fuzz suites import it: :data:`SEEDS` (name, text) and :func:`mutated_workflows`, a strategy of
``(seed name, edited text)``.  The edits are small and many: delete, repeat or swap spans of lines or
characters, splice lines from another file, and insert tokens chosen to hit the YAML reader and the
expression grammar where they are weakest (aliases, merges, tags, flow brackets, huge numbers, NUL,
lone surrogates, long texts, template delimiters).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
SEED_DIRS = (REPO / "examples", REPO.parent / "shared" / "seed")


def _seeds() -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for folder in SEED_DIRS:
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found.append((f"{folder.name}/{path.name}", path.read_text(encoding="utf-8")))
    return tuple(found)


SEEDS: tuple[tuple[str, str], ...] = _seeds()
"""Every seed file as (folder/name, text), in a fixed order."""

YAML_TOKENS: tuple[str, ...] = (
    "&a ",
    "*a",
    "&a [*a, *a, *a]",
    "<<: *a\n",
    "<<: [*a, *a]\n",
    "? ",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "'",
    '"',
    "|",
    ">-",
    "#",
    "!!int ",
    "!!str ",
    "!!binary ",
    "!!timestamp ",
    "!custom ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    "\r\n",
    "\x00",
    "\ud800",
    "\u2028",
    "\x85",
    "\ufeff",
    "null",
    "~",
    "true",
    "yes",
    "0x1F",
    "0o17",
    "1_000",
    "1:20:30",
    ".inf",
    "-.nan",
    "1e999",
    "2024-02-30",
    "9" * 400,
    "9" * 5000,
    "-" + "9" * 400,
    "{{",
    "}}",
    "{{=",
    "<<",
    ">>",
    "\\<<",
    "{{inputs.parameters.message}}",
    "{{tasks.a.outputs.result}}",
    "{{item}}",
    "{{workflow.parameters.x}}",
    "<< inputs.parameters.x >>",
    "%099999999d",
    "%c",
    "A" * 300,
    "x" * 5000,
    "[" * 120,
    "a: " * 60,
    "withSequence: {count: 100000000}\n",
    "withParam: '[1, 2, 3]'\n",
    "withItems: [1, 2, 3]\n",
    "when: '1 == 1'\n",
    "depends: 'a && (b || c)'\n",
    "retryStrategy: {limit: 3, backoff: {duration: 99999999999999999999s}}\n",
    "activeDeadlineSeconds: " + "9" * 30 + "\n",
    "apiVersion: kjob.dev/v1\n",
    "kind: CronWorkflow\n",
    "timezone: " + "Z" * 300 + "\n",
    "schedule: '61 * * * *'\n",
)
"""Text that an edit inserts."""


@st.composite
def _edit(draw: st.DrawFn, text: str, others: tuple[str, ...]) -> str:
    """One edit of ``text``."""
    if not text:
        return draw(st.sampled_from(YAML_TOKENS))
    kind = draw(st.sampled_from(("insert", "delete", "repeat", "replace", "lines", "splice")))
    start = draw(st.integers(0, len(text)))
    end = min(len(text), start + draw(st.integers(0, 40)))
    if kind == "insert":
        token = draw(st.sampled_from(YAML_TOKENS) | st.text(max_size=4))
        return text[:start] + token + text[start:]
    if kind == "delete":
        return text[:start] + text[end:]
    if kind == "repeat":
        return text[:end] + text[start:end] * draw(st.integers(1, 3)) + text[end:]
    if kind == "replace":
        return text[:start] + draw(st.sampled_from(YAML_TOKENS)) + text[end:]
    lines = text.split("\n")
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "lines":  # drop, repeat or re-indent one line
        what = draw(st.sampled_from(("drop", "repeat", "indent", "dedent")))
        line = lines[index]
        if what == "drop":
            del lines[index]
        elif what == "repeat":
            lines.insert(index, line)
        elif what == "indent":
            lines[index] = "  " + line
        else:
            lines[index] = line[2:] if line.startswith("  ") else line
        return "\n".join(lines)
    other = draw(st.sampled_from(others)).split("\n")  # a few lines of another file, spliced in
    first = draw(st.integers(0, len(other) - 1))
    lines[index:index] = other[first : first + draw(st.integers(1, 8))]
    return "\n".join(lines)


@st.composite
def mutated_workflows(draw: st.DrawFn, max_edits: int = 4) -> tuple[str, str]:
    """A seed file edited one to ``max_edits`` times: ``(seed name, text)``."""
    name, text = draw(st.sampled_from(SEEDS))
    others = tuple(t for _, t in SEEDS)
    for _ in range(draw(st.integers(1, max_edits))):
        text = draw(_edit(text, others))
    return name, text


EXPRESSION_TOKENS: tuple[str, ...] = (
    "<<",
    ">>",
    "{{",
    "}}",
    "{{=",
    "\\",
    "\\\\",
    "<",
    "{",
    " ",
    "\n",
    "inputs.parameters.x",
    "tasks.a.outputs.result",
    "item",
    "workflow.parameters.p",
    ".",
    "-",
    "(",
    ")",
    "((((((((((",
    "&&",
    "||",
    "!",
    "==",
    "!=",
    "=~",
    "!~",
    "<=",
    ">=",
    "+",
    "*",
    "/",
    "%",
    "'",
    '"',
    "'a'",
    "'(a+)+$'",
    "true",
    "false",
    "0",
    "1",
    "1.5",
    "9" * 400,
    "9" * 5000,
    "1e999",
    "a",
    "b-c",
    "a.Succeeded",
    "b.Failed",
    "a.AnySucceeded",
    "a.AllFailed",
    "a.Bogus",
    "\x00",
    "\ud800",
    "\u00e9",
)
"""Pieces of template, ``when`` and ``depends`` text."""

expression_texts = st.lists(st.sampled_from(EXPRESSION_TOKENS) | st.text(max_size=3), max_size=16).map(
    "".join
)
"""Texts built from :data:`EXPRESSION_TOKENS` and a little noise."""

RENDERED_VALUES: tuple[str, ...] = ("", "1", "0", "abc", "9" * 400, "'", '"', "(", "a == b", "1e999", "\x00")
"""Values a lookup gives back for any reference: what hostile task outputs and parameters look like."""
