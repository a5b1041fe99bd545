"""The cluster backend (``VMASIM_BACKEND=ray``): each machine a Ray actor.

Design note
===========
The embedded backend (:mod:`app.machines`) holds every machine in the server's
process, so one server is one core (the GIL) on one host. The cluster backend puts
each machine in a **Ray actor** of its own (:class:`app.cluster.host.MachineHost`):
its own worker process, on whichever node Ray places it (``SPREAD``). The actor runs
the embedded service for its one machine; the **front ends** (any number of uvicorn
servers, ``VMASIM_BACKEND=ray``) keep nothing, find a machine's actor by its name in
Ray's registry (the GCS) and forward each request there
(:class:`app.cluster.frontend.ClusterForwarder`). Every route therefore has one
implementation and the same REST contract in both backends, streams and pause points
included.

**State.** An actor keeps its machine's checkpoint and journal
(:mod:`app.persistence`, :mod:`app.journal_store`) under ``VMASIM_CLUSTER_STORE``, a
directory every node reaches: ``<store>/<machine>/``. The actor is detached and
restartable (``max_restarts=-1``): when its node dies, Ray starts it on another node,
and its first act is to restore the machine from that directory -- the journal holds
every acknowledged state change (``VMASIM_DURABILITY=journal``: answered after the
commit). Meanwhile the front ends answer 503 ``machine-unavailable`` with
``Retry-After``.

**What the store needs.** The journal is SQLite in WAL mode, which needs shared
memory between its users and POSIX locks that work: it is safe on a directory all
nodes of *one host* share (the tests' multi-node cluster, a compose stack's volume),
and *not* on NFS or SMB (SQLite's own documentation: WAL does not work over a network
filesystem; locks are unreliable there). A real multi-host cluster needs a store made
for it behind :class:`app.journal_store.JournalStore` (a replicated log or database
with per-machine keys: the interface is append / read after / delete prefix), or a
block device that moves with the machine; this change ships the shared-directory
store only. One process writes a machine's journal at a time: Ray may start a
machine's new actor while the old process on a node it declared dead still answers
calls for a moment, so an actor takes an exclusive lock (``fcntl``) on
``<store>/<machine>/host.json.lock`` before it restores, and holds it for its life: the
new one waits until the old one is gone, then replays everything it acknowledged.

This package is the only place the service imports Ray; :mod:`app.main` imports it
only when ``VMASIM_BACKEND=ray``.
"""
