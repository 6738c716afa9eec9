"""typer options that mirror a Param: the default, help and bounds of a vidvec.params field.

The command then validates with the same model (`Model.parse`), so `vidvec compact
--tombstone-days 400` is refused exactly as the DAG's form refuses it.
"""

from __future__ import annotations

import typer
from pydantic import BaseModel

from vidvec.params import form


def bounds(schema: dict) -> str:
    """ " [0..365]" from a field's JSON schema ("" when it has no numeric bounds)."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is None and high is None:
        return ""
    left = "(" if "exclusiveMinimum" in schema else "["
    right = ")" if "exclusiveMaximum" in schema else "]"
    return f" {left}{'' if low is None else low}..{'' if high is None else high}{right}"


def option(model: type[BaseModel], name: str, *decls: str, **kwargs):
    """typer.Option with the field's default and its description (and bounds) as help."""
    schema = form(model)[name]
    help_text = schema.get("description", "").rstrip(".") + bounds(schema)
    return typer.Option(schema["default"], *decls, help=help_text, **kwargs)
