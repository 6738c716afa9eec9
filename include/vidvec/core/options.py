"""The base of every validated set of options (Params, thresholds, policies): frozen, no unknown keys."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from vidvec.errors import VidvecError


class Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    WHAT: ClassVar[str] = "options"  # as the error names them

    @classmethod
    def parse(cls, values: dict | None = None) -> Self:
        """The validated values; one VidvecError naming every bad one."""
        fields = cls.model_fields  # a form's empty choice arrives as null: the field's own "" default
        values = {k: "" if v is None and k in fields and fields[k].default == "" else v
                  for k, v in (values or {}).items()}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise VidvecError(f"invalid {cls.WHAT}: {problems(exc)}") from None


def problems(exc: ValidationError) -> str:
    """Every error as `field: message`; a validator's own ValueError reads as its message alone."""
    out = []
    for e in exc.errors():
        where, message = ".".join(map(str, e["loc"])), e["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return "; ".join(out)
