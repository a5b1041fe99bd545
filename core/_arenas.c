/* core._arenas: CPython's small-object arenas in transparent huge pages.

Design note
===========

What it is for. A lookup in a process of 2,200,000 VMAs touches about fifteen heap
objects (tree nodes, their key lists and arrays, the entry tuple, the VMA, its lock)
scattered over a heap of some 850 MiB. CPython 3.11 allocates every object of up to 512
bytes from 1 MiB "arenas" (Objects/obmalloc.c, _PyObject_ArenaMmap: one anonymous
mmap each), so on a host whose transparent_hugepage/enabled is "madvise" the heap is
4 KiB pages: the data TLB (a few thousand entries) covers a few MiB of it, and nearly
every object a random lookup reads costs a page walk on top of its cache miss. The
compiled engine's fixed cost per lookup is a third of the interpreter's, so those misses
decide its ratio of 2,200,000 to 100 VMAs (docs/performance.md, "Lookups at 2,200,000
VMAs: the heap in huge pages").

What it does. install() replaces the arena allocator (PyObject_SetArenaAllocator, the
documented hook; Include/cpython/objimpl.h) with one that hands out arenas from
reservations of CHUNK bytes, aligned to THP_SIZE (2 MiB, the x86-64 PMD size) and marked
MADV_HUGEPAGE when they are mapped, before anything touches them. The kernel then gives
each 2 MiB of a reservation one huge page at its first fault
(mm/memory.c:__handle_mm_fault -> create_huge_pmd -> do_huge_pmd_anonymous_page,
mm/huge_memory.c, allowed for a VM_HUGEPAGE VMA by thp_vma_allowable_orders under
"madvise"), zeroed there as 4 KiB pages would have been one by one: no collapse, no
khugepaged, nothing that blocks the interpreter afterwards. Where THP is "never" the
madvise is accepted and changes nothing; where the kernel has no THP it fails and the
arenas are ordinary pages.

Freeing. CPython frees an arena when its last object dies. An arena is then marked free
and reused first by the next allocation (one whose 2 MiB neighbour is in use before one
whose neighbour is free, so that whole free huge pages stay whole); when every arena of
a 2 MiB unit is free, the unit is given back with MADV_DONTNEED (mm/madvise.c ->
zap_page_range_single: a whole PMD, so the huge page is freed, not split) and its next
fault takes a new huge page. A half-used unit keeps its free 1 MiB resident: at most
1 MiB per unit in use (on top of what CPython's arenas already keep), and the
reservation's untouched part is address space only (MAP_NORESERVE). Arenas allocated
before install() (the interpreter's start-up) are freed by the previous allocator.

Threads. CPython calls the arena allocator with the GIL held (obmalloc is not
thread-safe in 3.11 and relies on it), so the bookkeeping needs no lock of its own.

Cost: one mmap and one madvise per CHUNK, a scan of the free slots per arena allocation
(CHUNK / arena size slots per chunk; arenas are allocated once per MiB of objects). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define THP_SIZE ((size_t)2 << 20)   /* the PMD size on x86-64 (HPAGE_PMD_SIZE) */
#define CHUNK ((size_t)32 << 20) /* one reservation: 16 huge pages */

typedef struct {
    char *base;        /* CHUNK bytes, THP_SIZE-aligned */
    size_t used;       /* slots handed out at least once (a bump pointer) */
    size_t nfree;      /* slots below used that are free now */
    unsigned char *free_slot; /* CHUNK / arena_size flags */
} Chunk;

static Chunk *chunks;
static size_t nchunks, chunks_cap;
static int installed;
/* Learnt from the first request (CPython asks for ARENA_SIZE, 1 MiB in 3.11 on 64-bit,
   every time); 0 before it. A size that does not divide THP_SIZE is left to `previous`. */
static size_t arena_size;
static PyObjectArenaAllocator previous;
static int madvise_errno;  /* of the first failed MADV_HUGEPAGE, 0 if none */
static size_t n_alloc, n_free, n_released, n_previous_free;

static Chunk *
owner(const char *p)
{
    for (size_t i = 0; i < nchunks; i++) {
        if (p >= chunks[i].base && p < chunks[i].base + CHUNK)
            return &chunks[i];
    }
    return NULL;
}

static Chunk *
new_chunk(void)
{
    if (nchunks == chunks_cap) {
        size_t cap = chunks_cap ? 2 * chunks_cap : 16;
        Chunk *grown = realloc(chunks, cap * sizeof(Chunk));
        if (grown == NULL)
            return NULL;
        chunks = grown;
        chunks_cap = cap;
    }
    unsigned char *flags = calloc(CHUNK / arena_size, 1);
    if (flags == NULL)
        return NULL;
    /* Over-reserve by THP_SIZE, then trim both ends to a THP_SIZE-aligned CHUNK. */
    char *raw = mmap(NULL, CHUNK + THP_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        free(flags);
        return NULL;
    }
    char *base = (char *)(((uintptr_t)raw + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1));
    if (base > raw)
        munmap(raw, (size_t)(base - raw));
    char *end = raw + CHUNK + THP_SIZE;
    if (base + CHUNK < end)
        munmap(base + CHUNK, (size_t)(end - (base + CHUNK)));
    if (madvise(base, CHUNK, MADV_HUGEPAGE) != 0 && madvise_errno == 0)
        madvise_errno = errno;
    Chunk *c = &chunks[nchunks++];
    c->base = base;
    c->used = 0;
    c->nfree = 0;
    c->free_slot = flags;
    return c;
}

/* The free slot to reuse, preferring one whose THP_SIZE unit has an arena in use; -1 if
   the chunk has none. */
static Py_ssize_t
reusable_slot(const Chunk *c)
{
    size_t per_unit = THP_SIZE / arena_size;
    Py_ssize_t any = -1;
    for (size_t s = 0; s < c->used; s++) {
        if (!c->free_slot[s])
            continue;
        size_t first = s - s % per_unit;
        for (size_t k = first; k < first + per_unit && k < c->used; k++) {
            if (!c->free_slot[k])
                return (Py_ssize_t)s; /* its unit is in use: fill it */
        }
        if (any < 0)
            any = (Py_ssize_t)s;
    }
    return any;
}

static void *
arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (arena_size == 0 && size >= 4096 && size <= THP_SIZE && THP_SIZE % size == 0)
        arena_size = size;
    if (size != arena_size)
        return previous.alloc(previous.ctx, size);
    n_alloc++;
    for (size_t i = 0; i < nchunks; i++) {
        Chunk *c = &chunks[i];
        if (c->nfree == 0)
            continue;
        Py_ssize_t s = reusable_slot(c);
        if (s >= 0) {
            c->free_slot[s] = 0;
            c->nfree--;
            return c->base + (size_t)s * arena_size;
        }
    }
    Chunk *c = nchunks ? &chunks[nchunks - 1] : NULL;
    if (c == NULL || (c->used + 1) * arena_size > CHUNK)
        c = new_chunk();
    if (c == NULL) { /* no reservation: an ordinary arena rather than none */
        n_alloc--;
        return previous.alloc(previous.ctx, size);
    }
    return c->base + (c->used++) * arena_size;
}

static void
arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    Chunk *c = owner((const char *)ptr);
    if (c == NULL) { /* allocated before install(), or by the fallback */
        n_previous_free++;
        previous.free(previous.ctx, ptr, size);
        return;
    }
    n_free++;
    size_t s = (size_t)((char *)ptr - c->base) / arena_size;
    c->free_slot[s] = 1;
    c->nfree++;
    size_t per_unit = THP_SIZE / arena_size, first = s - s % per_unit;
    for (size_t k = first; k < first + per_unit; k++) {
        if (k >= c->used || !c->free_slot[k])
            return;
    }
    /* The whole unit is free: give its huge page back (a whole PMD, not split). */
    if (madvise(c->base + first * arena_size, THP_SIZE, MADV_DONTNEED) == 0)
        n_released++;
}

static PyObject *
install(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (installed)
        Py_RETURN_FALSE;
    installed = 1;
    PyObject_GetArenaAllocator(&previous);
    PyObjectArenaAllocator mine = {NULL, arena_alloc, arena_free};
    PyObject_SetArenaAllocator(&mine);
    Py_RETURN_TRUE;
}

static PyObject *
stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    size_t in_use = 0;
    for (size_t i = 0; i < nchunks; i++)
        in_use += chunks[i].used - chunks[i].nfree;
    PyObject *starts = PyList_New((Py_ssize_t)nchunks);
    if (starts == NULL)
        return NULL;
    for (size_t i = 0; i < nchunks; i++) {
        PyObject *v = PyLong_FromVoidPtr(chunks[i].base);
        if (v == NULL) {
            Py_DECREF(starts);
            return NULL;
        }
        PyList_SET_ITEM(starts, (Py_ssize_t)i, v);
    }
    return Py_BuildValue("{s:O,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:N,s:i}", "installed",
                         installed ? Py_True : Py_False, "arena_size",
                         (Py_ssize_t)arena_size, "chunk_size", (Py_ssize_t)CHUNK,
                         "arenas_in_use", (Py_ssize_t)in_use, "allocated",
                         (Py_ssize_t)n_alloc, "freed", (Py_ssize_t)n_free,
                         "units_released", (Py_ssize_t)n_released, "freed_by_previous",
                         (Py_ssize_t)n_previous_free, "chunks", starts, "madvise_errno",
                         madvise_errno);
}

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS,
     "install() -> bool: allocate CPython's arenas from 2 MiB-aligned MADV_HUGEPAGE "
     "reservations from now on (False: already installed)."},
    {"stats", stats, METH_NOARGS,
     "stats() -> dict: arena size, chunk size, arenas in use, counts, chunk addresses."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "core._arenas",
    "CPython's small-object arenas in transparent huge pages (see the design note of "
    "core/_arenas.c).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__arenas(void)
{
    return PyModule_Create(&module);
}
