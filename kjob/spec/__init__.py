"""Loading workflow files: YAML -> a validated, frozen :mod:`kjob.spec.model`.

``load_file``/``load_text`` return a :class:`LoadResult` or raise :class:`kjob.errors.SpecErrors` listing
every mistake of the file (always ``SpecErrors``, even for a single mistake); a file that cannot be read
raises a plain :class:`kjob.errors.KjobError`.

The loader's modules (and the expression modules they use) are imported with their dataclasses'
methods compiled once per user, not once per process (:mod:`kjob.spec.codecache`).
"""

from kjob.spec.codecache import dataclass_code_cache

with dataclass_code_cache():
    from kjob.spec.diagnostics import SpecWarning
    from kjob.spec.durations import parse_duration
    from kjob.spec.loader import LoadResult, load_file, load_text

__all__ = ["LoadResult", "SpecWarning", "load_file", "load_text", "parse_duration"]
