// The address space as typed arrays, parsed from the kernel's maps text, and the
// drawing axis: VMAs to scale, gaps either to scale or log-compressed.
//
// Addresses are kept as page numbers (address / 4096): the largest, the [vsyscall]
// page 0xffffffffff600, is below 2^52, so a double holds every one exactly.

export const KINDS = ["anon", "file", "shared", "stack", "heap", "special"];
export const KIND_COLOURS = {
  anon: "#4e79a7",
  file: "#59a14f",
  shared: "#b07aa1",
  stack: "#e15759",
  heap: "#f28e2b",
  special: "#9c755f",
};
// The top strip of each VMA: its r/w/x bits.
export const PERM_COLOURS = {
  "---": "#222222",
  "r--": "#c7c7c7",
  "rw-": "#edc948",
  "r-x": "#ff9da7",
  "rwx": "#d62728",
  "--x": "#8c564b",
  "-w-": "#bcbd22",
  "-wx": "#d62728",
};

// The user address space ends at TASK_SIZE_MAX, just below 2^47 with 4-level paging
// (arch/x86/include/asm/page_64_types.h). A maps line above it is the [vsyscall] gate
// VMA: get_gate_vma() (arch/x86/entry/vsyscall/vsyscall_64.c) is a static VMA outside
// the mm's tree, which show_map() prints last but mm->map_count does not count.
const USER_TOP_PAGE = 2 ** 35; // 2^47 bytes

/** What a "VMAs" figure on the page counts (the title of every such figure). */
export const MAP_COUNT_NOTE =
  "VMAs = the kernel's map_count: the VMAs in the process's tree, as in the REST " +
  "map_count field and `vmasim ps`. /maps and /smaps print one line more, the " +
  "[vsyscall] gate VMA, which is not in the tree (get_gate_vma()).";

function pageOf(hex) {
  // "7ffff7fbc000" -> 0x7ffff7fbc; a start/end is always page aligned.
  return hex.length > 3 ? parseInt(hex.slice(0, hex.length - 3), 16) : 0;
}

/** The kind of a VMA from its maps fields. */
export function kindOf(perms, path) {
  if (path === "[heap]") return "heap";
  if (path === "[stack]" || path.startsWith("[stack:")) return "stack";
  if (path.startsWith("[") && !path.startsWith("[anon")) return "special";
  if (perms[3] === "s") return "shared";
  if (path && !path.startsWith("[anon")) return "file";
  return "anon";
}

/**
 * Parse maps text into {n, start, end (Float64Array, pages), kind (Uint8Array index
 * into KINDS), perms (string[]), lines (string[], without the newline), rss
 * (Float32Array, kB, NaN = unknown), mapCount (the lines that are VMAs of the tree:
 * n minus the gate line), mappedPages (their pages, as total_vm)}. O(n).
 */
export function parseMaps(text) {
  const lines = text.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const n = lines.length;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const kind = new Uint8Array(n);
  const perms = new Array(n);
  const rss = new Float32Array(n).fill(NaN);
  let mapCount = 0;
  let mappedPages = 0;
  for (let i = 0; i < n; i++) {
    const line = lines[i];
    const dash = line.indexOf("-");
    const sp = line.indexOf(" ", dash);
    start[i] = pageOf(line.slice(0, dash));
    end[i] = pageOf(line.slice(dash + 1, sp));
    const p = line.slice(sp + 1, sp + 5);
    perms[i] = p;
    // After perms: offset, dev, inode, then (padded) the path, if any.
    let k = sp + 6;
    for (let f = 0; f < 3 && k > 0; f++) k = line.indexOf(" ", k) + 1;
    const path = k > 0 ? line.slice(k).trim() : "";
    kind[i] = KINDS.indexOf(kindOf(p, path));
    if (start[i] < USER_TOP_PAGE) {
      mapCount++;
      mappedPages += end[i] - start[i];
    }
  }
  return { n, start, end, kind, perms, lines, rss, mapCount, mappedPages };
}

/**
 * The model of a `format=overview` snapshot: each run of consecutive VMAs (the server's
 * MapsGroupOut: its first line, the end of its last VMA, how many VMAs, bytes mapped)
 * becomes one drawn block from the first VMA's start to the last one's end, of the
 * first VMA's kind and permissions; `vmas` (Uint32Array) keeps each run's VMA count,
 * and the counts of the whole process stay exact (mapCount, mappedPages). O(groups).
 */
export function modelFromGroups(groups) {
  const model = parseMaps(groups.map((g) => g.line).join("\n"));
  model.vmas = new Uint32Array(model.n);
  model.mapCount = 0;
  model.mappedPages = 0;
  for (let i = 0; i < model.n; i++) {
    const g = groups[i];
    model.end[i] = pageOf(g.end.slice(2));
    model.vmas[i] = g.vmas;
    if (g.vmas > 1) model.lines[i] = `${g.line}  … and ${g.vmas - 1} more VMAs to ${g.end}`;
    if (model.start[i] < USER_TOP_PAGE) {
      model.mapCount += g.vmas;
      model.mappedPages += g.size / 4096;
    }
  }
  return model;
}

/** Resident kB per VMA from smaps text (same order as maps). O(length). */
export function parseSmapsRss(text, model) {
  let i = -1;
  const re = /^(?:([0-9a-f]+)-[0-9a-f]+ |Rss:\s+(\d+) kB)/gm;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) {
      const page = pageOf(m[1]);
      // Walk forward to the VMA with this start (the layout may have moved on).
      i++;
      while (i < model.n && model.start[i] < page) i++;
      if (i >= model.n || model.start[i] !== page) i = -1;
    } else if (i >= 0 && i < model.n) {
      model.rss[i] = Number(m[2]);
    }
  }
}

export const SCALES = ["loggaps", "logall", "linear"];
/** Axis units per doubling of a gap (0: gaps to scale). */
const GAP_UNITS = { loggaps: 8, logall: 2, linear: 0 };

/**
 * The drawing axis of a model: axis positions x0[i] <= x1[i] per VMA, and total length.
 * - loggaps: VMAs to scale (1 unit = 1 page), each gap 8 * log2(1 + pages) units;
 * - logall: VMAs 1 + log2(pages), gaps 2 * log2(1 + pages) (every VMA visible);
 * - linear: everything to scale, from the first VMA's start.
 * O(n).
 */
export function buildAxis(model, scale) {
  const n = model.n;
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  let pos = 0;
  let prevEnd = n ? model.start[0] : 0;
  for (let i = 0; i < n; i++) {
    const gap = model.start[i] - prevEnd;
    const size = model.end[i] - model.start[i];
    if (scale === "linear") {
      pos += gap;
      x0[i] = pos;
      pos += size;
    } else if (scale === "logall") {
      pos += gap > 0 ? GAP_UNITS.logall * Math.log2(1 + gap) : 0;
      x0[i] = pos;
      pos += 1 + Math.log2(size);
    } else {
      pos += gap > 0 ? GAP_UNITS.loggaps * Math.log2(1 + gap) : 0;
      x0[i] = pos;
      pos += size;
    }
    x1[i] = pos;
    prevEnd = model.end[i];
  }
  return { x0, x1, length: Math.max(pos, 1), scale };
}

/** The first index i with x1[i] > pos (n if none). O(log n). */
export function firstEndingAfter(x1, n, pos) {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x1[mid] > pos) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The page address at axis position pos (in a gap: interpolated on the gap's scale). */
export function pageAt(model, axis, pos) {
  const n = model.n;
  if (!n) return 0;
  const i = firstEndingAfter(axis.x1, n, pos);
  if (i >= n) return model.end[n - 1];
  if (pos >= axis.x0[i]) {
    const f = (pos - axis.x0[i]) / Math.max(axis.x1[i] - axis.x0[i], 1e-9);
    return Math.floor(model.start[i] + f * (model.end[i] - model.start[i]));
  }
  // In a gap: invert the gap's scale (see buildAxis).
  const g0 = i ? axis.x1[i - 1] : 0;
  const p0 = i ? model.end[i - 1] : model.start[0];
  const d = pos - g0;
  const k = GAP_UNITS[axis.scale];
  const pages = k ? Math.pow(2, d / k) - 1 : d;
  return Math.min(p0 + Math.floor(pages), model.start[i]);
}

/** "0x..." for a page number (exact: page * 4096 < 2^64 is printed from the page). */
export function hexPage(page) {
  // page * 4096 may exceed 2^53: print the page in hex and append three zero digits.
  return page ? "0x" + page.toString(16) + "000" : "0x0";
}

export function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return (u === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[u];
}
