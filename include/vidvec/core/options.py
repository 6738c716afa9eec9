"""The base of every validated set of options (Params, thresholds, policies): frozen, no unknown keys."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from vidvec.errors import VidvecError


class Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    WHAT: ClassVar[str] = "options"  # as the error names them

    @classmethod
    def parse(cls, values: dict | None = None):
        """The validated values; one VidvecError naming every bad one."""
        try:
            return cls(**(values or {}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise VidvecError(f"invalid {cls.WHAT}: {problems}") from None
