"""``kjob compat DIR``: how much of a directory of Argo workflow files kjob accepts, and why not the rest."""

from __future__ import annotations

import json
import sys

import click

from kjob.cli import EXIT_FAILED, EXIT_OK, console
from kjob.compat import Outcome, Report, check_directory


@click.command("compat")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("-v", "--verbose", is_flag=True, help="Also list every file with its outcome.")
@click.option(
    "--fields",
    "fields_table",
    is_flag=True,
    help="Print the table of Argo's fields and kjob's status (markdown).",
)
def command(directory: str | None, output: str, verbose: bool, fields_table: bool) -> None:
    """Lint every YAML file under DIRECTORY and count the outcomes: accepted, unsupported by kjob yet
    (by feature), rejected as Argo rejects them too, wrongly rejected (each with its first error),
    crashed, and files that are not workflows (skipped).  WorkflowTemplates and ClusterWorkflowTemplates
    anywhere under DIRECTORY serve the others' templateRefs.  Exit 1 if a file could not be read or kjob
    crashed on one, else 0.

    With --fields, print every Argo field with what kjob does with it instead (docs/argo-fields.md)."""
    if fields_table:
        from kjob.spec.field_docs import argo_fields_markdown

        console.data(argo_fields_markdown())
        return
    if directory is None:
        raise click.UsageError("give a DIRECTORY of Argo workflow files (or --fields)")
    report = check_directory(directory)
    if output == "json":
        console.data(json.dumps(report.as_json(), indent=2) + "\n")
    else:
        for text in summary(report, verbose=verbose):
            console.line(text)
    sys.exit(EXIT_FAILED if report.failed else EXIT_OK)


def summary(report: Report, *, verbose: bool = False) -> list[str]:
    """The report for people: the counts, the unsupported features ranked, then each file that kjob
    rejected for another reason, crashed on or could not read."""
    workflows = report.workflow_files
    accepted = report.count(Outcome.ACCEPTED)
    valid = workflows - report.count(Outcome.ARGO_REJECTS)  # the files Argo itself would run
    share = f" ({100 * accepted / workflows:.0f}% of {workflows} workflow files" if workflows else ""
    if share and valid != workflows:
        share += f"; {100 * accepted / valid:.1f}% of the {valid} Argo accepts" if valid else ""
    share += ")" if share else ""
    lines = [f"{report.directory}: {len(report.files)} files"]
    for outcome in Outcome:
        n = report.count(outcome)
        if n or outcome is not Outcome.UNREADABLE:
            lines.append(f"  {outcome.label:17} {n:5}" + (share if outcome is Outcome.ACCEPTED else ""))
    features = report.features()
    if features:
        lines += ["", "not supported by kjob yet (files using each):"]
        lines += [f"  {n:5}  {name}" for name, n in features]
    sections = (
        (Outcome.WRONGLY_REJECTED, "wrongly rejected (first error):"),
        (Outcome.ARGO_REJECTS, "rejected, as Argo rejects them too:"),
        (Outcome.CRASHED, "crashed:"),
        (Outcome.UNREADABLE, "unreadable:"),
    )
    for outcome, title in sections:
        found = report.with_outcome(outcome)
        if found:
            lines += ["", title]
            for result in found:
                lines.append(f"  {result.first_error}" if result.first_error else f"  {result.path}")
                if result.why:
                    lines.append(f"    argo: {result.why}")
    if verbose:
        lines += ["", "files:"]
        for result in report.files:
            detail = ", ".join(result.features) or result.first_error or ""
            lines.append(f"  {result.outcome.label:17} {result.path}" + (f"  ({detail})" if detail else ""))
    return lines
