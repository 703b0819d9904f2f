"""Persistence: the Store interface, its records, and schema migrations."""

from monitor.store.database import database_url, make_engine, upgrade_schema
from monitor.store.intents import (
    CheckIntent,
    DeliveryRow,
    DocumentWrite,
    Health,
    KnownDocument,
    NewDelivery,
    PendingAlert,
    SourceState,
    StoryClue,
)
from monitor.store.store import Store

__all__ = [
    "CheckIntent",
    "DeliveryRow",
    "DocumentWrite",
    "Health",
    "KnownDocument",
    "NewDelivery",
    "PendingAlert",
    "SourceState",
    "Store",
    "StoryClue",
    "database_url",
    "make_engine",
    "upgrade_schema",
]
