"""Loading workflow files: YAML -> a validated, frozen :mod:`kjob.spec.model`.

``load_file``/``load_text`` return a :class:`LoadResult` or raise :class:`kjob.errors.SpecErrors` listing
every mistake of the file (always ``SpecErrors``, even for a single mistake); a file that cannot be read
raises a plain :class:`kjob.errors.KjobError`.
"""

from kjob.spec.diagnostics import SpecWarning
from kjob.spec.durations import parse_duration
from kjob.spec.loader import LoadResult, load_file, load_text

__all__ = ["LoadResult", "SpecWarning", "load_file", "load_text", "parse_duration"]
