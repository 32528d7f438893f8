"""The schema's building blocks: the strict base model, names and lists of names."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"expected a name of letters, digits, '-', '_' or '.', got {value!r}")
    return value


Name = Annotated[str, BeforeValidator(lambda v: _name(str(v)) if v is not None else v)]


def _listify(value: object) -> object:
    """A single value is a one-item list; numbers and booleans become text (YAML `in: [1, 2]`)."""
    if isinstance(value, str | int | float):
        value = [value]
    if isinstance(value, list):
        return [_scalar_text(v) for v in value]
    return value


def _scalar_text(value: object) -> object:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


StrList = Annotated[list[str], BeforeValidator(_listify, json_schema_input_type=str | list[str])]


def _names(value: object) -> object:
    """A list of people or groups: text only, so a stray number is an error, not a name."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(
            f"expected a list of names, e-mails or ids, as text (quote a numeric id:"
            f' ["12345"]), got {value!r}'
        )
    return [v.strip() for v in value]


NameList = Annotated[list[str], BeforeValidator(_names, json_schema_input_type=list[str])]


class Model(BaseModel):
    # No infinite or NaN numbers (YAML `.inf`, `.nan`): no duration or setting means them.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )
