// The race, step by step (kernel-notes §5.8; mm/vma.c do_vmi_align_munmap):
//   1. map a four-page VMA at a fixed address (and fault its pages in);
//   2. arm the pause point between munmap's split and its clearing store;
//   3. run munmap of the second page: the request parks there, mmap_lock held for write;
//   4. run the three maps readers at that moment, side by side: seqcount retries (the
//      sequence is odd) and falls back to mmap_lock, per_vma walks under RCU until it
//      meets a write-locked VMA and falls back, mmap_lock simply waits (the page gives
//      up on it after a short client-side timeout); /vmstat shows them queued;
//   5. release: munmap finishes, the waiting readers return what they saw.
// Only the public REST API is used.

import { ApiError, del, get, post } from "./api.js";

const $ = (sel) => document.querySelector(sel);
const READERS = ["seqcount", "per_vma", "mmap_lock"];
const PAGE = 4096n;

function addrRange(hex, pages) {
  const base = BigInt(hex);
  return { base, end: base + BigInt(pages) * PAGE, at: (n) => "0x" + (base + BigInt(n) * PAGE).toString(16) };
}

/** The maps lines overlapping [lo, hi) (BigInt bytes), with one neighbour each side. */
function region(vmas, lo, hi) {
  const idx = [];
  vmas.forEach((v, i) => {
    if (BigInt(v.start) < hi && BigInt(v.end) > lo) idx.push(i);
  });
  if (!idx.length) {
    // Nothing mapped there: the lines around it.
    const k = vmas.findIndex((v) => BigInt(v.start) >= hi);
    return k < 0 ? vmas.slice(-2) : vmas.slice(Math.max(0, k - 1), k + 1);
  }
  return vmas.slice(Math.max(0, idx[0] - 1), idx[idx.length - 1] + 2);
}

function vmaLine(v) {
  return `${v.start.slice(2)}-${v.end.slice(2)} ${v.perms} ${v.path}`.trimEnd();
}

export class Race {
  constructor(app) {
    this.app = app;
    this.step = 0;
    this.pending = {};
    this.munmap = null;
    this.before = null;
    this.results = {};
    this.bind();
  }

  get pid() {
    return this.app.state.pid;
  }

  bind() {
    $("#race-prepare").addEventListener("click", () => this.run(1, () => this.prepare()));
    $("#race-arm").addEventListener("click", () => this.run(2, () => this.arm()));
    $("#race-run").addEventListener("click", () => this.run(3, () => this.runMunmap()));
    $("#race-read").addEventListener("click", () => this.run(4, () => this.read()));
    $("#race-release").addEventListener("click", () => this.run(5, () => this.release()));
    $("#race-reset").addEventListener("click", () => this.resetServer());
  }

  /** Run step n (its button's handler), then enable step n + 1. */
  async run(n, fn) {
    const status = $(`#race-s${n}`);
    if (this.pid === null) {
      status.textContent = "create or select a process first";
      return;
    }
    $(`#race-${["", "prepare", "arm", "run", "read", "release"][n]}`).disabled = true;
    status.className = "step wait";
    status.textContent = "…";
    try {
      status.textContent = await fn();
      status.className = "step ok";
      this.step = n;
      const next = ["", "arm", "run", "read", "release"][n];
      if (next) $(`#race-${next}`).disabled = false;
      else $("#race-prepare").disabled = false;
    } catch (err) {
      status.className = "step";
      status.textContent = "failed: " + this.app.errorText(err);
      $(`#race-${["", "prepare", "arm", "run", "read", "release"][n]}`).disabled = false;
    }
  }

  point() {
    return $("#race-point").value;
  }

  range() {
    return addrRange($("#race-addr").value.trim(), 4);
  }

  col(name) {
    return document.querySelector(`#race-columns [data-col="${name}"]`);
  }

  setCol(name, cls, meta, lines, marks) {
    const c = this.col(name);
    c.className = "col " + (cls || "");
    c.querySelector(".meta").textContent = meta;
    const pre = c.querySelector("pre");
    pre.textContent = "";
    (lines || []).forEach((line, i) => {
      const span = document.createElement("span");
      span.textContent = line + "\n";
      if (marks && marks[i]) span.className = marks[i];
      pre.appendChild(span);
    });
  }

  async prepare() {
    const pid = this.pid;
    const r = this.range();
    const a = await post(`/processes/${pid}/mmap`, {
      addr: r.at(0),
      length: 4 * 4096,
      prot: ["PROT_READ", "PROT_WRITE"],
      flags: ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"],
    });
    for (let i = 0; i < 4; i++) await post(`/processes/${pid}/faults`, { addr: r.at(i), access: "write" });
    const snap = await get(`/processes/${pid}/maps.json`);
    this.before = region(snap.vmas, r.base, r.end).map(vmaLine);
    this.setCol("before", "done", `generation ${snap.snapshot.generation}, seq ${snap.snapshot.seq_end}`, this.before);
    for (const c of [...READERS, "after"]) this.setCol(c, "", "", []);
    this.app.pollVmstat();
    return `mapped ${a.addr}, 4 pages rw-p, all faulted in`;
  }

  async arm() {
    await post(`/processes/${this.pid}/pause-points`, { name: this.point(), count: 1, timeout: 60 });
    return `armed ${this.point()} (the next munmap parks there for up to 60 s)`;
  }

  async runMunmap() {
    const pid = this.pid;
    const r = this.range();
    const t0 = performance.now();
    this.munmap = post(`/processes/${pid}/munmap`, { addr: r.at(1), length: 4096 }).then(
      () => ({ ok: true, ms: performance.now() - t0 }),
      (err) => ({ ok: false, err }),
    );
    // Wait (bounded) until the request is parked at the point.
    for (let i = 0; i < 100; i++) {
      const ps = await get(`/processes/${pid}/pause-points`);
      const h = ps.held.find((x) => x.point === this.point());
      if (h) {
        await this.app.pollVmstat();
        const v = this.app.state.vmstat;
        const seq = v ? `; mm_lock_seq ${v.mmap_lock.seq} (odd)` : "";
        return `munmap(${r.at(1)}, 4096) is held at ${h.point} (hold #${h.hold_id}), mmap_lock write-locked${seq}`;
      }
      const done = await Promise.race([this.munmap, new Promise((res) => setTimeout(() => res(null), 50))]);
      if (done) throw new Error("munmap finished without reaching the pause point" + (done.err ? ": " + done.err.message : ""));
    }
    throw new Error("munmap did not reach the pause point within 5 s");
  }

  async read() {
    const pid = this.pid;
    const r = this.range();
    const timeout = Math.max(100, Number($("#race-timeout").value) || 1200);
    this.results = {};
    const started = performance.now();
    for (const reader of READERS) {
      this.setCol(reader, "waiting", "reading…", []);
      const opts = reader === "mmap_lock" ? { timeout } : {};
      this.pending[reader] = get(`/processes/${pid}/maps.json?reader=${reader}&max_retries=3`, opts).then(
        (snap) => {
          const ms = performance.now() - started;
          this.results[reader] = { snap, ms };
          this.showReader(reader, snap, ms, r);
          return true;
        },
        (err) => {
          const ms = performance.now() - started;
          if (err.name === "AbortError") {
            this.results[reader] = { timedOut: true, ms };
            this.setCol(
              reader,
              "blocked",
              `gave up after ${Math.round(ms)} ms (client-side timeout): down_read(mmap_lock) waits ` +
                `behind the munmap, which holds it for write`,
              [],
            );
          } else {
            this.results[reader] = { error: err, ms };
            this.setCol(reader, "blocked", this.app.errorText(err), []);
          }
          return false;
        },
      );
    }
    // Let the readers reach the lock, then look at it while they wait.
    await Promise.race([Promise.all(Object.values(this.pending)), new Promise((res) => setTimeout(res, timeout + 150))]);
    await this.app.pollVmstat();
    const v = this.app.state.vmstat;
    const sem = v ? v.mmap_lock.rwsem : null;
    for (const reader of READERS) {
      if (!this.results[reader]) {
        const why =
          reader === "seqcount"
            ? "mm_lock_seq is odd: mmap_lock_speculate_try_begin fails, every lockless " +
              "walk is invalid, so after max_retries it fell back to mmap_lock and waits " +
              "(its attempts appear on release)"
            : "lock_next_vma walked under RCU up to a VMA the munmap write-locked; " +
              "vma_start_read failed, so it fell back to mmap_lock " +
              "(lock_next_vma_under_mmap_lock) and waits; lines read before that are " +
              "from an earlier moment (marked torn on release)";
        this.setCol(reader, "waiting", `still waiting after ${Math.round(performance.now() - started)} ms: ${why}`, []);
      }
    }
    const queued = sem ? `${sem.waiting_readers} reader(s) queued on mmap_lock, writer: ${sem.writer || "?"}` : "";
    return `read at the held moment; ${queued}`;
  }

  showReader(reader, snap, ms, r) {
    const m = snap.snapshot;
    const lines = region(snap.vmas, r.base, r.end).map(vmaLine);
    const torn = new Set(m.torn_at);
    const startIdx = snap.vmas.findIndex((v) => vmaLine(v) === lines[0]);
    const marks = lines.map((line, i) => {
      if (torn.has(startIdx + i)) return "torn";
      return this.before && !this.before.includes(line) ? "changed" : "";
    });
    const reasons = m.retry_reasons.length ? `\nretries: ${[...new Set(m.retry_reasons)].join("; ")}` : "";
    const meta =
      `returned after ${Math.round(ms)} ms; attempts ${m.attempts}, fell back ${m.fell_back ? "yes" : "no"}` +
      ` (${m.fallbacks}), mmap_lock wait ${(m.hold.mmap_lock_wait_ns / 1e6).toFixed(1)} ms, ` +
      `consistent ${m.consistent ? "yes" : "no"}, torn lines ${m.torn_at.length}, seq ${m.seq_begin}→${m.seq_end}` +
      reasons;
    this.setCol(reader, "done", meta, lines, marks);
    this.app.noteSnapshot(m);
  }

  async release() {
    const pid = this.pid;
    const r = this.range();
    const rel = await post(`/processes/${pid}/pause-points/release`, { name: this.point() });
    const done = this.munmap ? await this.munmap : null;
    // The readers that waited return now (bounded: the server finishes them at once).
    await Promise.race([Promise.all(Object.values(this.pending)), new Promise((res) => setTimeout(res, 5000))]);
    await del(`/processes/${pid}/pause-points/${encodeURIComponent(this.point())}`);
    const snap = await get(`/processes/${pid}/maps.json`);
    const after = region(snap.vmas, r.base, r.end).map(vmaLine);
    this.setCol(
      "after",
      "done",
      `generation ${snap.snapshot.generation}: the split VMA's first and last parts, the second page gone`,
      after,
      after.map((l) => (this.before && !this.before.includes(l) ? "changed" : "")),
    );
    if (this.results.mmap_lock && this.results.mmap_lock.timedOut) {
      // The abandoned read finished on the server when the writer let go; a new one
      // now takes mmap_lock at once.
      const t0 = performance.now();
      const m = await get(`/processes/${pid}/maps.json?reader=mmap_lock`);
      const c = this.col("mmap_lock");
      c.querySelector(".meta").textContent +=
        `\nafter the release a new mmap_lock read took ${Math.round(performance.now() - t0)} ms ` +
        `(mmap_lock wait ${(m.snapshot.hold.mmap_lock_wait_ns / 1e6).toFixed(2)} ms):`;
      const lines = region(m.vmas, r.base, r.end).map(vmaLine);
      c.querySelector("pre").textContent = lines.join("\n") + "\n";
      this.app.noteSnapshot(m.snapshot);
    }
    this.pending = {};
    this.app.pollVmstat();
    const took = done && done.ok ? `munmap returned after ${Math.round(done.ms)} ms` : "munmap failed";
    return `released ${rel.released} held operation(s); ${took}; point disarmed`;
  }

  /** Disarm everything and release every hold (server side), and reset the steps. */
  async resetServer() {
    if (this.pid !== null) {
      try {
        await del(`/processes/${this.pid}/pause-points`);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
      }
    }
    this.reset();
  }

  /** Reset the steps on the page (nothing on the server). */
  reset() {
    this.step = 0;
    this.pending = {};
    this.munmap = null;
    this.before = null;
    this.results = {};
    $("#race-prepare").disabled = false;
    for (const b of ["arm", "run", "read", "release"]) $(`#race-${b}`).disabled = true;
    for (let i = 1; i <= 5; i++) {
      $(`#race-s${i}`).textContent = "";
      $(`#race-s${i}`).className = "step";
    }
    for (const c of ["before", ...READERS, "after"]) this.setCol(c, "", "", []);
  }
}
