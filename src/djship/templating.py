"""Jinja environments over a tree of template files (the scaffold's project, init's files,
the Kubernetes manifests): one place that says how djship renders text. Strict, so that a
misspelt variable fails instead of rendering empty; no escaping, since the output is
configuration and code, not HTML; trailing newlines kept, as the files have them."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2


def template_environment(root: Path | Traversable, **options: bool) -> jinja2.Environment:
    """Templates named by their path under `root`; `options` go to jinja2.Environment."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text("utf-8")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        **options,
    )
