"""Where journal records are kept: a small interface and its SQLite implementation.

:class:`JournalStore` is all the journal (:mod:`app.journal`) needs of a store: append
records durably in one transaction, read them back in order, delete a prefix. Records
are opaque bytes keyed by (machine, position), so one store can hold the journals of
several machines and another store (a replicated log, a Ray actor's own storage) can
stand in for SQLite without touching the journal.

:class:`SqliteJournalStore` is SQLite in WAL mode, one ``WITHOUT ROWID`` table keyed by
``(machine, seq)``. Durability (``VMASIM_JOURNAL_SYNC``, :data:`SYNC_MODES`):

``full`` (the default)
    ``PRAGMA synchronous=FULL``: a commit returns once the WAL is ``fsync``-ed, so a
    record survives ``kill -9`` of the service *and* a power loss of the machine (on
    storage that honours ``fsync``). One ``fsync`` per commit, shared by every record
    of a group commit.
``normal``
    ``PRAGMA synchronous=NORMAL``: a commit returns once the WAL is written (the OS
    holds it), ``fsync`` happens at WAL checkpoints: a record survives ``kill -9`` of
    the service, not a power loss. Cheaper per commit.

One connection, used under :attr:`SqliteJournalStore._lock` from any thread. Each
method is one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

SyncMode = Literal["full", "normal"]
SYNC_MODES: tuple[SyncMode, ...] = ("full", "normal")
SCHEMA_VERSION = 1


class JournalStoreError(Exception):
    """The store cannot be opened, read or written (names the file and the cause)."""


class JournalStore(Protocol):
    """Durable, ordered records of one or more machines."""

    def append(self, machine: str, records: Sequence[tuple[int, bytes]]) -> None:
        """Store ``records`` (position, bytes), ascending, all or none, durably before
        returning."""
        ...

    def records(self, machine: str, after: int) -> Iterator[tuple[int, bytes]]:
        """The records of ``machine`` past position ``after``, ascending."""
        ...

    def last(self, machine: str) -> int:
        """The highest position stored for ``machine`` (0 if none)."""
        ...

    def truncate(self, machine: str, upto: int) -> int:
        """Delete the records of ``machine`` up to position ``upto``; returns how many."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreStatistics:
    """``SqliteJournalStore.statistics()``: the file, its durability, commits and
    records written, the time spent committing, records deleted, and the size of the
    database and its WAL now."""

    path: str
    sync: SyncMode
    commits: int
    records: int
    commit_seconds: float
    truncated: int
    db_bytes: int
    wal_bytes: int


class SqliteJournalStore:
    """:class:`JournalStore` in one SQLite database in WAL mode (see the module note)."""

    def __init__(self, path: str, sync: SyncMode = "full") -> None:
        if sync not in SYNC_MODES:
            raise JournalStoreError(f"journal sync {sync!r} is not one of {SYNC_MODES}")
        self.path = path
        self.sync = sync
        self._lock = threading.Lock()
        self.commits = 0
        self.written = 0
        self.commit_seconds = 0.0
        self.truncated = 0
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise JournalStoreError(f"journal {path!r}: SQLite refused WAL mode ({mode})")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS records (
                    machine TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    PRIMARY KEY (machine, seq)
                ) WITHOUT ROWID;
                """
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise JournalStoreError(
                    f"journal {path!r} has schema version {row[0]}; this build reads "
                    f"{SCHEMA_VERSION}"
                )
        except sqlite3.Error as exc:
            raise JournalStoreError(f"journal {path!r} cannot be opened: {exc}") from exc

    def append(self, machine: str, records: Sequence[tuple[int, bytes]]) -> None:
        """One transaction; O(records)."""
        began = time.perf_counter()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO records (machine, seq, body) VALUES (?, ?, ?)",
                    [(machine, seq, body) for seq, body in records],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise JournalStoreError(f"journal {self.path!r}: append failed: {exc}") from exc
            self.commits += 1
            self.written += len(records)
            self.commit_seconds += time.perf_counter() - began

    def records(self, machine: str, after: int) -> Iterator[tuple[int, bytes]]:
        """Read in pages of 1000 records (never the whole journal in memory at once)."""
        position = after
        while True:
            with self._lock:
                try:
                    rows = self._db.execute(
                        "SELECT seq, body FROM records WHERE machine = ? AND seq > ? "
                        "ORDER BY seq LIMIT 1000",
                        (machine, position),
                    ).fetchall()
                except sqlite3.Error as exc:
                    raise JournalStoreError(f"journal {self.path!r}: read failed: {exc}") from exc
            if not rows:
                return
            for seq, body in rows:
                yield seq, bytes(body)
            position = rows[-1][0]

    def last(self, machine: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(seq) FROM records WHERE machine = ?", (machine,)
            ).fetchone()
        return int(row[0] or 0)

    def truncate(self, machine: str, upto: int) -> int:
        """Delete a prefix, then give the WAL's space back (``wal_checkpoint(TRUNCATE)``,
        best effort: a reader may keep it for now)."""
        with self._lock:
            try:
                count = self._db.execute(
                    "DELETE FROM records WHERE machine = ? AND seq <= ?", (machine, upto)
                ).rowcount
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise JournalStoreError(f"journal {self.path!r}: truncate failed: {exc}") from exc
            self.truncated += count
            return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def statistics(self) -> StoreStatistics:
        def size(name: str) -> int:
            try:
                return os.path.getsize(name)
            except OSError:
                return 0

        return StoreStatistics(
            path=self.path,
            sync=self.sync,
            commits=self.commits,
            records=self.written,
            commit_seconds=self.commit_seconds,
            truncated=self.truncated,
            db_bytes=size(self.path),
            wal_bytes=size(self.path + "-wal"),
        )
