"""API models of a pilot's collaborators."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from pilots.access import MAX_COLLABORATORS
from pilots.schemas.common import InputModel, OutputModel
from pilots.schemas.fields import Person


class CollaboratorsUpdate(InputModel):
    """The body of `PUT /pilots/{id}/collaborators`: the complete new list (an empty list removes everyone)."""

    model_config = ConfigDict(strict=True)

    users: list[Person] = Field(
        max_length=MAX_COLLABORATORS, description="Names of active pm or admin users.", examples=[["demo-pm"]]
    )


class Collaborators(OutputModel):
    """Who may change a pilot besides admins: its owner and its collaborators."""

    owner: str
    users: list[str]
