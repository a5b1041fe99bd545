"""Request and response models (pydantic v2): the REST API's vocabulary, one module per
section of the API.

Conventions:

* Addresses, lengths and offsets are accepted as JSON integers or ``"0x..."`` strings
  (:data:`common.U64`) and returned as lowercase ``"0x..."`` strings
  (:func:`common.hex_addr`).
* ``prot``/``flags`` are lists of Linux names (:mod:`app.flags`); an item may also be
  a raw non-negative integer. An unknown name is a 422 naming it.
* Requests forbid unknown fields (:class:`common.InModel`), so a typo (``"lenght"``) is
  an error, not a default.
* The batch operation is a discriminated union on ``"op"``; new kinds (``"fault"``)
  are new members of :data:`batch.BatchOp`.
* Vocabularies the engine owns (fault access, outcome, path, maps reader, page) are the
  engine's own ``Literal`` types, imported from ``core``, never re-declared here.

=================  ==============================================================
module             models of
=================  ==============================================================
``common``         numbers, flag items, paths, the request base class, health
``processes``      processes, files, fork
``syscalls``       mmap, munmap, mprotect, mremap, brk
``faults``         page faults and ``touch``
``batch``          ``POST /processes/{pid}/syscalls``
``maps``           maps/smaps views, snapshots, streams
``pause``          pause points
``query``          ``PROCMAP_QUERY``
``vmstat``         ``GET /vmstat``
``experiments``    ``/experiments`` jobs
``machines``       ``/machines``: simulated machines and their kernel settings
=================  ==============================================================
"""
