// The page: one simulated process, live. Wires the map (mapview.js), the SSE maps
// stream, the /vmstat poll, the syscall and fault forms, the background workload, the
// race demo (race.js) and the experiment results (experiments.js).
//
// Everything goes through the public REST API (api.js). window.vmasimUi exposes the
// page's state for the browser tests (read-only use).

import {
  ApiError,
  DEFAULT_MACHINE,
  del,
  get,
  machine,
  parseAddr,
  post,
  readEvents,
  setMachine,
  setToken,
  token,
} from "./api.js";
import {
  KINDS,
  KIND_COLOURS,
  MAP_COUNT_NOTE,
  PERM_COLOURS,
  formatBytes,
  hexPage,
  parseMaps,
  parseSmapsRss,
  modelFromGroups,
} from "./maps.js";
import { MapView } from "./mapview.js";
import { Race } from "./race.js";
import { Experiments } from "./experiments.js";

const $ = (sel) => document.querySelector(sel);
const READERS = ["seqcount", "per_vma", "mmap_lock"];
const SMAPS_MAX_VMAS = 8192; // above this, resident pages are not fetched (smaps is O(VMAs))
// Above this many VMAs the stream sends runs of consecutive VMAs (format=overview), at
// most OVERVIEW_GROUPS of them, instead of the whole text (2,200,000 VMAs: ~110 MB per
// snapshot, seconds of parsing on the page's thread). A state field so a test can lower it.
const OVERVIEW_ABOVE = 131072;
const OVERVIEW_GROUPS = 8192;
const VMSTAT_MS = 1000;
const EVENTS = ["vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss", "pgfault", "pgmajfault"];

const state = {
  pid: null,
  chosen: false, // a process was selected (by the URL, a click or automatically)
  model: null,
  generation: null,
  snapshots: 0,
  streamCtl: null,
  streamReader: "seqcount",
  readers: Object.fromEntries(READERS.map((r) => [r, null])),
  readerCounts: Object.fromEntries(READERS.map((r) => [r, 0])),
  vmstat: null,
  prevSample: null,
  history: [],
  lastRss: null,
  smapsBusy: false,
  smapsAgain: false,
  selectedStart: null,
  workload: null,
  lastParseMs: 0,
  overviewAbove: OVERVIEW_ABOVE,
};

const view = new MapView($("#map"), $("#tooltip"));
window.vmasimUi = { state, view };

// -- small helpers ---------------------------------------------------------------------

function toast(message) {
  const t = $("#toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 6000);
}

function showResult(text, error = false) {
  const r = $("#op-result");
  r.textContent = text;
  r.classList.toggle("error", error);
}

function errorText(err) {
  return err instanceof ApiError ? err.message : String(err && err.message ? err.message : err);
}

function protOf(form) {
  const prot = [];
  if (form.r.checked) prot.push("PROT_READ");
  if (form.w.checked) prot.push("PROT_WRITE");
  if (form.x.checked) prot.push("PROT_EXEC");
  return prot.length ? prot : ["PROT_NONE"];
}

function legend() {
  // Built with the DOM: inline style attributes are refused by the page's CSP.
  const box = $("#legend");
  const item = (colour, label, height) => {
    const span = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    if (height) swatch.style.height = height;
    span.append(swatch, label);
    box.appendChild(span);
  };
  for (const k of KINDS) item(KIND_COLOURS[k], k);
  for (const p of ["r--", "rw-", "r-x", "rwx", "---"]) item(PERM_COLOURS[p], p, "5px");
  item("rgba(0,0,0,0.45)", "resident");
}

// -- processes -------------------------------------------------------------------------

async function loadProcesses(select) {
  const list = await get("/processes");
  const sel = $("#pid-select");
  const want = select ?? state.pid;
  sel.innerHTML = '<option value="">(none)</option>';
  for (const p of list.processes) {
    const o = document.createElement("option");
    o.value = String(p.pid);
    o.textContent = `${p.pid} ${p.name} (${p.map_count} VMAs)`;
    sel.appendChild(o);
  }
  if (want !== null && list.processes.some((p) => p.pid === want)) sel.value = String(want);
  if (state.pid === null) showNoProcess(list.processes.length);
  return list;
}

/** The pid in the URL (`#pid=N`), or null. */
function pidFromHash() {
  const m = /(?:^#|&)pid=(\d+)(?:&|$)/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

/** `#...&overview_above=N` in the URL sets the overview threshold (tests, demos). */
{
  const m = /(?:^#|&)overview_above=(\d+)(?:&|$)/.exec(location.hash);
  if (m) state.overviewAbove = Number(m[1]);
}

/** The machine in the URL (`#machine=ID&pid=N`), or the default one. */
function machineFromHash() {
  const m = /(?:^#|&)machine=([a-z0-9-]+)(?:&|$)/.exec(location.hash);
  return m ? m[1] : DEFAULT_MACHINE;
}

/** The URL fragment for the page's machine and `pid`. */
function hashFor(pid) {
  const parts = [];
  if (machine() !== DEFAULT_MACHINE) parts.push(`machine=${machine()}`);
  if (pid !== null) parts.push(`pid=${pid}`);
  return "#" + parts.join("&");
}

// -- machines --------------------------------------------------------------------------

/** Fill the machine picker from GET /machines (each with its process count). */
async function loadMachines() {
  const list = await get("/machines");
  const sel = $("#machine-select");
  sel.innerHTML = "";
  for (const m of list.machines) {
    const o = document.createElement("option");
    o.value = m.id;
    o.textContent = `${m.id} (${m.processes} processes)`;
    sel.appendChild(o);
  }
  if (!list.machines.some((m) => m.id === machine())) {
    const o = document.createElement("option");
    o.value = machine();
    o.textContent = `${machine()} (gone)`;
    sel.appendChild(o);
  }
  sel.value = machine();
  return list;
}

/** Show machine `id`: its processes (the newest selected), counters and jobs. */
async function selectMachine(id) {
  if (id === machine()) return;
  setMachine(id);
  state.chosen = false;
  selectProcess(null);
  $("#machine-select").value = id;
  experiments.reset();
  try {
    const list = await loadProcesses(null);
    if (newestPid(list) !== null) selectProcess(newestPid(list));
    else history.replaceState(null, "", hashFor(null));
  } catch (err) {
    toast(errorText(err));
  }
}

/** The newest process of a /processes answer (pids only grow: the highest), or null. */
function newestPid(list) {
  return list.processes.reduce((best, p) => (best === null || p.pid > best ? p.pid : best), null);
}

/** With no process selected: say why, and point at what to do next. */
function showNoProcess(count) {
  const status = $("#stream-status");
  if (count) {
    status.textContent = "no process selected: pick one from the list";
    view.emptyText = "no process selected: pick one from the process list";
  } else {
    status.textContent = "no process yet: create one with “new empty process” or “new typical process”";
    view.emptyText = "no process yet: press “new empty process” or “new typical process” above";
  }
  for (const id of ["#create-empty", "#create-typical"]) $(id).classList.toggle("cta", !count);
  view.requestDraw();
}

async function createProcess(layout) {
  try {
    const p = await post("/processes", { name: layout === "typical" ? "typical" : "empty", layout });
    await loadProcesses(p.pid);
    selectProcess(p.pid);
    showResult(`created process ${p.pid} (${layout}): ${p.map_count} VMAs`);
  } catch (err) {
    showResult(errorText(err), true);
  }
}

function selectProcess(pid) {
  if (state.streamCtl) state.streamCtl.abort();
  state.pid = pid;
  state.chosen = true;
  state.model = null;
  state.generation = null;
  state.prevSample = null;
  state.history = [];
  state.lastRss = null;
  state.selectedStart = null;
  view.selected = -1;
  view.model = null;
  view.requestDraw();
  $("#pid-select").value = pid === null ? "" : String(pid);
  history.replaceState(null, "", hashFor(pid));
  race.reset();
  if (pid === null) {
    showNoProcess($("#pid-select").options.length - 1);
    return;
  }
  for (const id of ["#create-empty", "#create-typical"]) $(id).classList.remove("cta");
  startStream();
  pollVmstat();
}

// -- the live map: SSE stream ------------------------------------------------------------

async function startStream() {
  const ctl = new AbortController();
  state.streamCtl = ctl;
  const pid = state.pid;
  const status = $("#stream-status");
  while (!ctl.signal.aborted) {
    try {
      // A changed layout is sent at most every `interval` s: 0.1 s for a small process,
      // longer for a big one (a snapshot of 65,530 VMAs is ~2.7 MB of text to parse).
      const { map_count: n } = await get(`/processes/${pid}`, { signal: ctl.signal });
      const interval = n > 20000 ? 1 : n > 2000 ? 0.3 : 0.1;
      const format = n > state.overviewAbove ? `overview&groups=${OVERVIEW_GROUPS}` : "text";
      const url =
        `/processes/${pid}/maps/events?only_changes=true&interval=${interval}&format=${format}` +
        `&reader=${state.streamReader}&max_duration=600`;
      status.textContent = `live: ${state.streamReader} stream`;
      let ended = null;
      await readEvents(url, ctl.signal, (name, data) => {
        if (name === "snapshot") onSnapshot(data);
        else if (name === "end") ended = data.reason;
      });
      if (ended === "exited") {
        status.textContent = `process ${pid} exited`;
        return;
      }
    } catch (err) {
      if (ctl.signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) {
        status.textContent = `process ${pid} is gone`;
        return;
      }
      status.textContent = `stream error, reconnecting: ${errorText(err)}`;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function onSnapshot(item) {
  if (item.pid !== state.pid) return;
  const t0 = performance.now();
  const model = item.groups ? modelFromGroups(item.groups) : parseMaps(item.text || "");
  // Keep the resident figures of VMAs that did not move until smaps is read again.
  const old = state.model;
  if (old) {
    let j = 0;
    for (let i = 0; i < model.n; i++) {
      while (j < old.n && old.start[j] < model.start[i]) j++;
      if (j < old.n && old.start[j] === model.start[i] && old.end[j] === model.end[i]) model.rss[i] = old.rss[j];
    }
  }
  state.lastParseMs = performance.now() - t0;
  state.model = model;
  state.generation = item.snapshot.generation;
  state.snapshots++;
  noteSnapshot(item.snapshot);
  view.setModel(model);
  if (state.selectedStart !== null) view.selected = indexOfStart(state.selectedStart);
  // VMAs as map_count, like every other figure on the page (MAP_COUNT_NOTE); the maps
  // text has one line more, the gate VMA, which is said so that the two add up.
  const gate = item.count - model.mapCount;
  const lines = gate ? `; maps shows ${item.count} lines incl. [vsyscall]` : "";
  const runs = item.groups ? `, drawn as ${model.n} runs of consecutive VMAs` : "";
  $("#map-info").textContent =
    `pid ${item.pid}: ${model.mapCount} VMAs (map_count${lines}), ` +
    `${formatBytes(model.mappedPages * 4096)} mapped, generation ` +
    `${item.snapshot.generation}, snapshot #${state.snapshots} (${item.snapshot.reader})${runs}`;
  refreshSmaps();
}

function indexOfStart(page) {
  const m = state.model;
  if (!m) return -1;
  let lo = 0;
  let hi = m.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.start[mid] < page) lo = mid + 1;
    else hi = mid;
  }
  return lo < m.n && m.start[lo] === page ? lo : -1;
}

/** Read /smaps for the per-VMA Rss (small processes only), at most one read at a time. */
async function refreshSmaps() {
  const m = state.model;
  if (!m || m.mapCount > SMAPS_MAX_VMAS || state.pid === null) return;
  if (state.smapsBusy) {
    state.smapsAgain = true;
    return;
  }
  state.smapsBusy = true;
  try {
    do {
      state.smapsAgain = false;
      const { text } = await get(`/processes/${state.pid}/smaps`, { text: true });
      if (state.model) {
        parseSmapsRss(text, state.model);
        view.requestDraw();
      }
    } while (state.smapsAgain);
  } catch (_) {
    // The process may have exited; the stream reports that.
  } finally {
    state.smapsBusy = false;
  }
}

// -- reader statistics -----------------------------------------------------------------

/** Record the metadata of a maps snapshot (stream, scanner, race) under its reader. */
export function noteSnapshot(meta) {
  state.readers[meta.reader] = meta;
  state.readerCounts[meta.reader]++;
  renderReaders();
}

function metaFromHeaders(h) {
  return {
    reader: h.get("X-Vmasim-Reader"),
    attempts: Number(h.get("X-Vmasim-Attempts")),
    fell_back: h.get("X-Vmasim-Fallback") === "true",
    fallbacks: Number(h.get("X-Vmasim-Fallbacks")),
    torn_at: (h.get("X-Vmasim-Torn-At") || "").split(",").filter(Boolean),
    consistent: h.get("X-Vmasim-Consistent") === "true",
    generation: Number(h.get("X-Vmasim-Generation")),
    hold: {
      mmap_lock_wait_ns: Number(h.get("X-Vmasim-Wait-Mmap-Lock-Ns")),
      vma_read_ns: Number(h.get("X-Vmasim-Hold-Vma-Ns")),
    },
  };
}

function us(ns) {
  if (!ns) return "0";
  if (ns >= 10_000_000) return (ns / 1e6).toFixed(0) + " ms";
  return (ns / 1000).toFixed(ns < 10000 ? 1 : 0) + " µs";
}

function renderReaders() {
  const rows = READERS.map((r) => {
    const m = state.readers[r];
    if (!m) return `<tr data-reader="${r}"><td>${r}</td><td colspan="8" class="info">no read yet</td></tr>`;
    return (
      `<tr data-reader="${r}"><td>${r}</td><td class="attempts">${m.attempts}</td>` +
      `<td class="${m.fell_back ? "hot" : ""}">${m.fell_back ? "yes" : "no"}</td>` +
      `<td>${m.fallbacks}</td><td class="${m.torn_at.length ? "hot" : ""}">${m.torn_at.length}</td>` +
      `<td>${m.consistent ? "yes" : "no"}</td><td>${us(m.hold.mmap_lock_wait_ns)}</td>` +
      `<td>${us(m.hold.vma_read_ns)}</td><td class="reads">${state.readerCounts[r]}</td></tr>`
    );
  });
  $("#readers-table tbody").innerHTML = rows.join("");
}

// -- /vmstat -----------------------------------------------------------------------------

async function pollVmstat() {
  const pid = state.pid;
  if (pid === null) return;
  try {
    const [vs, pause] = await Promise.all([get(`/vmstat?pid=${pid}`), get(`/processes/${pid}/pause-points`)]);
    if (pid !== state.pid) return;
    renderVmstat(vs.processes[0], performance.now());
    renderPause(pause);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return;
    $("#vmstat-age").textContent = errorText(err);
  }
}

function renderVmstat(p, now) {
  state.vmstat = p;
  const lock = p.mmap_lock;
  const sem = lock.rwsem;
  const kv = [
    ["mmap_lock", lock.write_locked ? `write-locked by ${sem.writer || "a writer"}` : sem.readers ? `${sem.readers} reader(s)` : "free"],
    ["holders", `${sem.readers} reading, ${sem.writer ? "1 writing" : "0 writing"}`],
    ["waiters", `${sem.waiting_readers} readers, ${sem.waiting_writers} writers`],
    ["mm_lock_seq", `${lock.seq}${lock.seq % 2 ? " (odd: write-locked)" : ""}; ${lock.write_cycles} write cycles`],
    ["acquisitions", `${sem.read_acquisitions} read (${sem.read_contended} waited), ${sem.write_acquisitions} write (${sem.write_contended} waited)`],
    ["wait time", `read ${(sem.read_wait_total_s * 1000).toFixed(1)} ms, write ${(sem.write_wait_total_s * 1000).toFixed(1)} ms`],
    ["per-VMA locks held", "not exposed by the REST API (see the per-VMA hold times below)"],
    ["VMAs, faults", `${p.map_count} VMAs (map_count); min_flt ${p.min_flt}, maj_flt ${p.maj_flt}`],
    ["resident", `anon ${p.rss.anon}, file ${p.rss.file}, shmem ${p.rss.shmem} pages`],
  ];
  $("#mmap-lock-table").innerHTML = kv.map(([k, v]) => `<tr><td>${k}</td><td data-key="${k}">${v}</td></tr>`).join("");
  const prev = state.prevSample;
  const dt = prev ? (now - prev.t) / 1000 : 0;
  const rates = {};
  const rows = EVENTS.map((e) => {
    const v = p.events[e];
    rates[e] = prev && dt > 0 ? (v - prev.events[e]) / dt : 0;
    return `<tr data-event="${e}"><td>${e}</td><td class="total">${v}</td><td>${rates[e].toFixed(1)}</td></tr>`;
  });
  $("#events-table tbody").innerHTML = rows.join("");
  state.prevSample = { t: now, events: { ...p.events } };
  state.history.push(rates);
  if (state.history.length > 60) state.history.shift();
  drawRates();
  $("#vmstat-age").textContent = `(/vmstat, every ${VMSTAT_MS / 1000} s)`;
  const rss = p.rss.anon + p.rss.file + p.rss.shmem;
  if (state.lastRss !== null && rss !== state.lastRss) refreshSmaps();
  state.lastRss = rss;
}

function drawRates() {
  const c = $("#rates");
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const h = state.history;
  const series = [
    ["vma_lock_success", "#2f855a"],
    ["vma_lock_abort", "#c53030"],
    ["pgfault", "#2b6cb0"],
  ];
  const max = Math.max(1, ...h.flatMap((r) => series.map(([k]) => r[k])));
  series.forEach(([k, colour], s) => {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    h.forEach((r, i) => {
      const x = (i / 59) * (c.width - 2) + 1;
      const y = c.height - 12 - (r[k] / max) * (c.height - 16);
      if (i) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = colour;
    ctx.font = "10px sans-serif";
    ctx.fillText(k + "/s", 4 + s * 120, c.height - 1);
  });
  ctx.fillStyle = "#666";
  ctx.fillText(`max ${max.toFixed(0)}/s`, c.width - 70, 10);
}

function renderPause(ps) {
  const armed = ps.points.filter((p) => p.armed).map((p) => `${p.name} (hits ${p.hits}, holds ${p.holds})`);
  const held = ps.held.map((h) => `#${h.hold_id} ${h.op} held at ${h.point} for ${h.held_for.toFixed(2)} s`);
  $("#pause-state").textContent =
    (armed.length ? "armed: " + armed.join(", ") : "none armed") + (held.length ? "; held: " + held.join("; ") : "");
}

// -- syscalls and faults -----------------------------------------------------------------

async function op(label, fn) {
  if (state.pid === null) {
    showResult("create or select a process first", true);
    return null;
  }
  try {
    const r = await fn(state.pid);
    showResult(`${label}: ${r === null ? "ok" : JSON.stringify(r)}`);
    pollVmstat();
    return r;
  } catch (err) {
    showResult(errorText(err), true);
    return null;
  }
}

function bindForms() {
  $("#mmap-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const flags = [f.share.value];
    if (f.anon.checked) flags.push("MAP_ANONYMOUS");
    if (f.fixed.checked) flags.push("MAP_FIXED");
    if (f.growsdown.checked) flags.push("MAP_GROWSDOWN");
    op("mmap", (pid) =>
      post(`/processes/${pid}/mmap`, {
        addr: parseAddr(f.addr.value) ?? 0,
        length: parseAddr(f.length.value),
        prot: protOf(f),
        flags,
      }),
    ).then((r) => {
      if (r) fillAddr(r.addr);
    });
  });
  $("#munmap-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    op("munmap", (pid) => post(`/processes/${pid}/munmap`, { addr: parseAddr(f.addr.value), length: parseAddr(f.length.value) }));
  });
  $("#mprotect-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    op("mprotect", (pid) =>
      post(`/processes/${pid}/mprotect`, { addr: parseAddr(f.addr.value), length: parseAddr(f.length.value), prot: protOf(f) }),
    );
  });
  $("#lock-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const call = f.call.value;
    const range = { addr: parseAddr(f.addr.value), length: parseAddr(f.length.value) };
    let body = range;
    if (call === "mlock2") body = { ...range, flags: ["MLOCK_ONFAULT"] };
    if (call === "prctl") body = { addr: range.addr, size: range.length, name: f.name.value === "" ? null : f.name.value };
    if (call === "madvise") body = { ...range, advice: f.advice.value };
    op(call, (pid) => post(`/processes/${pid}/${call}`, body)).then(() => refreshSmaps());
  });
  $("#mlockall-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const flags = ["current", "future", "onfault"].filter((k) => f[k].checked).map((k) => "MCL_" + k.toUpperCase());
    op("mlockall", (pid) => post(`/processes/${pid}/mlockall`, { flags })).then(() => refreshSmaps());
  });
  $("#do-munlockall").addEventListener("click", () => {
    op("munlockall", (pid) => post(`/processes/${pid}/munlockall`)).then(() => refreshSmaps());
  });
  $("#fault-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = ev.target;
    op("fault", (pid) => post(`/processes/${pid}/faults`, { addr: parseAddr(f.addr.value), access: f.access.value })).then(
      (r) => {
        if (r) refreshSmaps();
      },
    );
  });
}

/** Put `addr` into the address fields of munmap, mprotect, the lock/seal/name form and fault. */
function fillAddr(addr, length) {
  for (const id of ["#munmap-form", "#mprotect-form", "#lock-form", "#fault-form"]) $(id).addr.value = addr;
  if (length) {
    for (const id of ["#munmap-form", "#mprotect-form", "#lock-form"]) $(id).length.value = length;
  }
}

view.onSelect = (i) => {
  const m = state.model;
  if (!m || i < 0) {
    state.selectedStart = null;
    $("#selection").textContent = "click a VMA to select it (fills the address fields below)";
    return;
  }
  state.selectedStart = m.start[i];
  fillAddr(hexPage(m.start[i]), "0x" + ((m.end[i] - m.start[i]) * 4096).toString(16));
  $("#selection").textContent = "selected: " + m.lines[i];
};

// -- background workload (a bounded loop of REST calls) ----------------------------------

function writableVmas() {
  const m = state.model;
  const out = [];
  if (!m) return out;
  for (let i = 0; i < m.n; i++) if (m.perms[i][1] === "w" && KINDS[m.kind[i]] !== "special") out.push(i);
  return out;
}

async function runWorkload(cfg) {
  const pid = state.pid;
  const w = { stop: false, ops: 0, errors: 0, faults: 0, signals: 0, syscalls: 0, scans: 0, lastError: "" };
  state.workload = w;
  const deadline = performance.now() + cfg.seconds * 1000;
  const live = () => !w.stop && performance.now() < deadline && state.pid === pid;
  const count = async (kind, p) => {
    try {
      const r = await p;
      w[kind]++;
      w.ops++;
      return r;
    } catch (err) {
      w.errors++;
      w.lastError = errorText(err);
      return null;
    }
  };
  // An arena for the faulting threads, so there is always something to fault in.
  const arena = await count(
    "syscalls",
    post(`/processes/${pid}/mmap`, { length: 256 * 4096, prot: ["PROT_READ", "PROT_WRITE"], flags: ["MAP_PRIVATE", "MAP_ANONYMOUS"] }),
  );
  const faulter = async () => {
    while (live()) {
      const m = state.model;
      const cands = writableVmas();
      if (!m || !cands.length) break;
      const i = cands[Math.floor(Math.random() * cands.length)];
      const page = m.start[i] + Math.floor(Math.random() * (m.end[i] - m.start[i]));
      const r = await count("faults", post(`/processes/${pid}/faults`, { addr: hexPage(page), access: "write" }));
      // A signal (the writer unmapped the page meanwhile) is a fault that never
      // reached handle_mm_fault: not counted in pgfault.
      if (r && !r.ok) w.signals++;
    }
  };
  const writer = async () => {
    while (live()) {
      const r = await count(
        "syscalls",
        post(`/processes/${pid}/mmap`, { length: 8 * 4096, prot: ["PROT_READ", "PROT_WRITE"], flags: ["MAP_PRIVATE", "MAP_ANONYMOUS"] }),
      );
      if (!r) continue;
      const base = BigInt(r.addr);
      const hex = (off) => "0x" + (base + BigInt(off * 4096)).toString(16);
      await count("syscalls", post(`/processes/${pid}/mprotect`, { addr: hex(2), length: 2 * 4096, prot: ["PROT_READ"] }));
      await count("syscalls", post(`/processes/${pid}/munmap`, { addr: r.addr, length: 8 * 4096 }));
    }
  };
  const scanner = async (k) => {
    let n = 0;
    while (live()) {
      const reader = READERS[(k + n++) % 2]; // seqcount and per_vma: the lockless ones
      const r = await count("scans", get(`/processes/${pid}/maps?reader=${reader}`, { text: true }));
      if (r) noteSnapshot(metaFromHeaders(r.headers));
    }
  };
  const loops = [];
  for (let i = 0; i < cfg.faulters; i++) loops.push(faulter());
  if (cfg.writer) loops.push(writer());
  for (let i = 0; i < cfg.scanners; i++) loops.push(scanner(i));
  const ticker = setInterval(() => renderWorkload(w, deadline), 250);
  await Promise.all(loops);
  clearInterval(ticker);
  if (arena && state.pid === pid) await count("syscalls", post(`/processes/${pid}/munmap`, { addr: arena.addr, length: 256 * 4096 }));
  w.done = true;
  renderWorkload(w, deadline);
  refreshSmaps();
  return w;
}

function renderWorkload(w, deadline) {
  const left = Math.max(0, (deadline - performance.now()) / 1000);
  const status = w.done ? "finished" : `running, ${left.toFixed(1)} s left`;
  $("#workload-status").textContent =
    `${status}: ${w.ops} requests (${w.faults} faults of which ${w.signals} signalled, ` +
    `${w.syscalls} syscalls, ${w.scans} maps reads), ` +
    `${w.errors} errors${w.lastError ? " (last: " + w.lastError + ")" : ""}`;
}

function bindWorkload() {
  const form = $("#workload-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (state.pid === null) {
      showResult("create or select a process first", true);
      return;
    }
    const cfg = {
      faulters: Math.min(16, Math.max(0, Number(form.faulters.value))),
      writer: form.writer.checked,
      scanners: Math.min(8, Math.max(0, Number(form.scanners.value))),
      seconds: Math.min(120, Math.max(1, Number(form.seconds.value))),
    };
    $("#workload-start").disabled = true;
    $("#workload-stop").disabled = false;
    try {
      await runWorkload(cfg);
    } finally {
      $("#workload-start").disabled = false;
      $("#workload-stop").disabled = true;
    }
  });
  $("#workload-stop").addEventListener("click", () => {
    if (state.workload) state.workload.stop = true;
  });
}

// -- start-up --------------------------------------------------------------------------

const race = new Race({ state, pollVmstat, noteSnapshot, errorText });
const experiments = new Experiments($("#experiments-body"), $("#experiments-jobs"), $("#experiment-form"));
window.vmasimUi.race = race;
window.vmasimUi.experiments = experiments;

async function main() {
  legend();
  renderReaders();
  bindForms();
  bindWorkload();
  $("#create-empty").addEventListener("click", () => createProcess("empty"));
  $("#create-typical").addEventListener("click", () => createProcess("typical"));
  $("#delete-process").addEventListener("click", async () => {
    if (state.pid === null) return;
    const pid = state.pid;
    try {
      await del(`/processes/${pid}`);
      selectProcess(null);
      await loadProcesses(null);
      showResult(`process ${pid} exited`);
    } catch (err) {
      showResult(errorText(err), true);
    }
  });
  $("#pid-select").addEventListener("change", (ev) => selectProcess(ev.target.value ? Number(ev.target.value) : null));
  $("#pid-select").title = MAP_COUNT_NOTE;
  $("#map-info").title = MAP_COUNT_NOTE;
  $("#machine-select").addEventListener("change", (ev) => selectMachine(ev.target.value));
  $("#machine-select").addEventListener("focus", () => loadMachines().catch(() => {}));
  // An edited URL (#machine=ID&pid=N) selects that machine and process.
  window.addEventListener("hashchange", () => {
    if (machineFromHash() !== machine()) {
      selectMachine(machineFromHash());
      return;
    }
    const want = pidFromHash();
    if (want !== null && want !== state.pid) {
      loadProcesses(want)
        .then((list) => {
          if (list.processes.some((p) => p.pid === want)) selectProcess(want);
          else toast(`process ${want} does not exist`);
        })
        .catch((err) => toast(errorText(err)));
    }
  });
  $("#scale").addEventListener("change", (ev) => view.setScale(ev.target.value));
  $("#zoom-in").addEventListener("click", () => view.zoom(0.5));
  $("#zoom-out").addEventListener("click", () => view.zoom(2));
  $("#zoom-fit").addEventListener("click", () => view.resetView());
  $("#stream-reader").addEventListener("change", (ev) => {
    state.streamReader = ev.target.value;
    if (state.pid !== null) selectProcess(state.pid);
  });
  const tok = $("#token");
  tok.value = token();
  tok.addEventListener("change", () => {
    setToken(tok.value);
    loadProcesses().catch((err) => toast(errorText(err)));
  });
  setInterval(pollVmstat, VMSTAT_MS);
  // The list is refreshed every 5 s; a page that opened before any process existed
  // (and where nobody chose one since) shows the first one that appears.
  setInterval(async () => {
    try {
      const list = await loadProcesses();
      if (!state.chosen && newestPid(list) !== null) selectProcess(newestPid(list));
    } catch (_) {
      // Shown by the next action that fails.
    }
  }, 5000);
  view.requestDraw();
  try {
    // #pid=N if that process exists, else the newest one: a first visit shows a live
    // address space rather than an empty page (selectProcess puts its pid in the URL).
    setMachine(machineFromHash());
    await loadMachines();
    const list = await loadProcesses();
    const want = pidFromHash();
    const found = want !== null && list.processes.some((p) => p.pid === want);
    const pid = found ? want : newestPid(list);
    if (want !== null && !found) {
      toast(`process ${want} does not exist` + (pid !== null ? `; showing the newest, ${pid}` : ""));
    }
    if (pid !== null) selectProcess(pid);
  } catch (err) {
    $("#stream-status").textContent = "not connected";
    toast(errorText(err) + (err.status === 401 ? " — set the token (top right)" : ""));
  }
  experiments.start();
  document.body.dataset.ready = "true";
}

main();
