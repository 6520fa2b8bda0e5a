"""The one declarative base, its naming convention and the column types every model uses."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, Enum, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CHINA = ZoneInfo("Asia/Shanghai")  # the one zone people read times in


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend: stored as UTC, read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def enum_column(enum_cls: type[enum.Enum], **kw: Any) -> Any:
    """An enum stored as its value in a VARCHAR, with a CHECK constraint listing the values."""
    return mapped_column(
        Enum(
            enum_cls,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            name=enum_cls.__name__.lower(),
            validate_strings=True,
        ),
        **kw,
    )


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
str32 = Annotated[str, 32]
str64 = Annotated[str, 64]
str200 = Annotated[str, 200]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime, default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        str32: String(32),
        str64: String(64),
        str200: String(200),
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
    }
