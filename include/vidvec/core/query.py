"""What a "similar videos" query may ask, validated once (pure: the library, the CLI and the store share it).

`NeighbourQuery` is the recommender's whole question: how many neighbours,
how similar they must be to count (`min_score`, a cosine similarity to the
query video), which public videos may answer (`Scope`: language, category,
owners, a published window; always through the engine's payload filter),
which topics to steer away from (`negative` examples, Qdrant's recommend
query) and how to show other perspectives (`diversity`, the MMR lambda, or at
most `max_per_owner` videos per channel). Every bound lives here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vidvec.core.ids import validate_video_id
from vidvec.core.options import Options
from vidvec.core.types import to_micros
from vidvec.errors import shown

STRATEGIES = ("best_score", "average_vector")  # Qdrant's recommend strategies vidvec offers
MAX_LIST = 100  # categories or owners in one query


class Scope(BaseModel):
    """Which public videos may answer; each condition is a payload filter on an indexed field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: str | None = None
    categories: tuple[str, ...] = ()  # any of these
    exclude_owners: tuple[str, ...] = ()
    published_from: int | None = None  # epoch microseconds, inclusive
    published_to: int | None = None  # epoch microseconds, exclusive
    exclude_ids: tuple[str, ...] = ()  # video ids (the query video, the negative examples)


class NeighbourQuery(Options):
    """One similar-videos query; invalid values raise VidvecError (`parse`) naming the field."""

    WHAT = "query"

    k: int = Field(10, ge=1, le=1000, description="neighbours to return")
    min_score: float | None = Field(None, ge=-1, le=1, description=(
        "cosine similarity a neighbour needs; the answer is confident when k neighbours reach it"))
    language: str | None = Field(None, min_length=1, max_length=35, description="only neighbours in this language")
    categories: tuple[str, ...] = Field((), max_length=MAX_LIST, description="only neighbours in these categories")
    other_owners: bool = Field(False, description="only neighbours from other channels than the query video's")
    exclude_owners: tuple[str, ...] = Field((), max_length=MAX_LIST, description="no neighbours from these channels")
    published_after: datetime | None = Field(None, description=(
        "only videos published at or after this time (a date means 00:00 UTC)"))
    published_before: datetime | None = Field(None, description="only videos published before this time")
    negative: tuple[str, ...] = Field((), max_length=16, description=(
        "video ids whose topics to steer away from (Qdrant's recommend query)"))
    strategy: Literal[STRATEGIES] = Field("best_score", description=(  # type: ignore[valid-type]
        "recommend strategy for negative examples: best_score or average_vector"))
    diversity: float | None = Field(None, ge=0, le=1, description=(
        "MMR lambda: 1 = plain similarity order, lower = more diverse"))
    candidates: int = Field(100, ge=1, le=1000, description="MMR candidate pool (at least k)")
    max_per_owner: int | None = Field(None, ge=1, le=1000, description="at most this many neighbours per channel")
    hnsw_ef: int | None = Field(None, ge=1, le=10_000, description="search-time ef; default the collection's")

    @field_validator("language", mode="before")
    @classmethod
    def _blank(cls, value: str | None) -> str | None:
        return value or None  # an empty language means no language filter, as it always has

    @field_validator("categories", "exclude_owners")
    @classmethod
    def _texts(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not value or len(value) > 200:
                raise ValueError(f"each value needs 1..200 characters, got {shown(value)}")
        return tuple(dict.fromkeys(values))

    @field_validator("negative")
    @classmethod
    def _ids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(validate_video_id(v) for v in values))

    @field_validator("published_after", "published_before", mode="before")
    @classmethod
    def _when(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _parse_time(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time(), tzinfo=timezone.utc)
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} needs a time zone, e.g. {value.isoformat()}+00:00")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> NeighbourQuery:
        if self.diversity is not None and self.max_per_owner is not None:
            raise ValueError("diversity and max_per_owner are two ways to the perspective view: choose one")
        if self.diversity is not None and self.candidates < self.k:
            raise ValueError(f"candidates ({self.candidates}) must be at least k ({self.k})")
        if self.negative and self.strategy == "average_vector" and self.min_score is not None:
            raise ValueError("min_score is a similarity to the query video; average_vector ranks by another "
                             "vector: use strategy best_score")
        if self.published_after and self.published_before and self.published_after >= self.published_before:
            raise ValueError("published_after must be before published_before")
        return self

    def scope(self, video_id: str, owner_id: str | None) -> Scope:
        """The payload filter of this query for one query video (owned by owner_id)."""
        owners = self.exclude_owners + ((owner_id,) if self.other_owners and owner_id else ())
        return Scope(language=self.language, categories=self.categories, exclude_owners=tuple(dict.fromkeys(owners)),
                     published_from=to_micros(self.published_after) if self.published_after else None,
                     published_to=to_micros(self.published_before) if self.published_before else None,
                     exclude_ids=(video_id, *self.negative))


def _parse_time(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{shown(text)} is not an ISO-8601 date or time") from None

