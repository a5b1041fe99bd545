// Experiment results: the finished jobs of the /experiments API, each as its targets,
// its rows (a table) and a plot (the server's PNG when it offers one, else a line plot
// drawn here from the rows). When the server has no /experiments route the panel says
// so and stays idle.

import { get, machine, onMachine, post, token } from "./api.js";

// Job states (app/routes/experiments.py): "done" jobs carry a result; queued and
// running ones show their progress; failed and cancelled ones are only counted.
const FINISHED = new Set(["done"]);
const ACTIVE = new Set(["queued", "running"]);
const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function jobsOf(list) {
  if (Array.isArray(list)) return list;
  for (const key of ["jobs", "experiments", "items", "results"]) if (Array.isArray(list[key])) return list[key];
  return [];
}

const idOf = (job) => job.id ?? job.job_id ?? job.jobId;
const statusOf = (job) => String(job.status ?? job.state ?? "").toLowerCase();

/** A table of row objects (columns: the union of their keys, in order). */
export function rowsTable(rows) {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const t = el("table", { class: "counters" });
  const head = el("tr");
  for (const n of names) head.appendChild(el("th", {}, n));
  t.appendChild(el("thead")).appendChild(head);
  const body = t.appendChild(el("tbody"));
  for (const r of rows) {
    const tr = el("tr");
    for (const n of names) {
      const v = r[n];
      tr.appendChild(el("td", {}, v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    body.appendChild(tr);
  }
  return t;
}

/** A line plot of the rows: x the first numeric column, one line per other numeric
 * column and per value of the first text column. Null when nothing is plottable. */
export function rowsPlot(rows, width = 560, height = 220) {
  if (rows.length < 2) return null;
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = names.filter((n) => rows.every((r) => typeof r[n] === "number"));
  const group = names.find((n) => rows.every((r) => typeof r[n] === "string"));
  if (numeric.length < 2) return null;
  const [x, ...ys] = numeric;
  const series = [];
  const groups = group ? [...new Set(rows.map((r) => r[group]))] : [null];
  for (const g of groups) {
    const sub = rows.filter((r) => g === null || r[group] === g).sort((a, b) => a[x] - b[x]);
    for (const y of ys.slice(0, 3)) series.push({ label: g === null ? y : `${g} ${y}`, pts: sub.map((r) => [r[x], r[y]]) });
  }
  const all = series.flatMap((s) => s.pts);
  const [xmin, xmax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [ymin, ymax] = [Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const c = el("canvas", { width: String(width), height: String(height) });
  const ctx = c.getContext("2d");
  const L = 50;
  const B = 20;
  const sx = (v) => L + ((v - xmin) / (xmax - xmin || 1)) * (width - L - 10);
  const sy = (v) => height - B - ((v - ymin) / (ymax - ymin || 1)) * (height - B - 10);
  ctx.strokeStyle = "#999";
  ctx.strokeRect(L, 10, width - L - 10, height - B - 10);
  ctx.fillStyle = "#333";
  ctx.font = "10px sans-serif";
  ctx.fillText(String(ymax.toPrecision(3)), 2, 16);
  ctx.fillText(String(ymin), 2, height - B);
  ctx.fillText(`${x}: ${xmin} … ${xmax}`, L, height - 5);
  series.forEach((s, k) => {
    ctx.strokeStyle = COLOURS[k % COLOURS.length];
    ctx.beginPath();
    s.pts.forEach(([a, b], i) => (i ? ctx.lineTo(sx(a), sy(b)) : ctx.moveTo(sx(a), sy(b))));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(s.label, L + 6 + (k % 3) * 170, 22 + Math.floor(k / 3) * 12);
  });
  return c;
}

export class Experiments {
  constructor(root, jobsLine, form) {
    this.root = root;
    this.jobsLine = jobsLine;
    this.form = form;
    this.paths = null;
    this.shown = new Set(); // ids of the finished jobs on the page
    this.timer = null;
    this.chain = 0;
    this.epoch = 0; // reset() counts the machines picked: refresh() of an older one stops
    this.running = new Set(); // the refreshes under way (promises)
  }

  async start() {
    let schema = null;
    try {
      schema = await get("/openapi.json");
      this.paths = Object.keys(schema.paths).filter((p) => p.startsWith("/experiments"));
    } catch (_) {
      this.paths = [];
    }
    if (!this.paths.includes("/experiments")) {
      this.root.textContent =
        "This server has no /experiments route (the experiment job API is not installed), " +
        "so there are no results to show. Run them with python -m lab.";
      this.root.dataset.state = "unavailable";
      return;
    }
    this.setupForm(schema);
    this.root.textContent = "no finished experiment jobs yet";
    this.root.dataset.state = "empty";
    this.poll();
  }

  /** Refresh every 0.5 s while a job is queued or running, else every 5 s. */
  async poll(chain = ++this.chain) {
    const active = await this.refresh();
    if (chain !== this.chain) return; // a newer chain (kick) took over
    this.timer = setTimeout(() => this.poll(chain), active ? 500 : 5000);
  }

  /** Another machine was picked: its jobs replace those shown. */
  reset() {
    if (this.paths === null || !this.paths.includes("/experiments")) return;
    this.epoch++;
    this.shown.clear();
    this.root.textContent = "no finished experiment jobs yet";
    this.root.dataset.state = "empty";
    this.kick();
  }

  /** Refresh now and poll fast from now on (a job was just started). */
  kick() {
    clearTimeout(this.timer);
    this.poll();
  }

  /** The start form, its names from the schema's enum (POST /experiments body). */
  setupForm(schema) {
    const body = schema.components && schema.components.schemas && schema.components.schemas.ExperimentIn;
    const names = body && body.properties && body.properties.name && body.properties.name.enum;
    if (!names || !this.form) return;
    const select = this.form.elements.name;
    for (const n of names) select.appendChild(el("option", {}, n));
    this.form.hidden = false;
    this.form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = this.form.elements;
      try {
        const job = await post("/experiments", {
          name: f.name.value,
          quick: f.quick.checked,
          seed: Number(f.seed.value) || 0,
          cell_seconds: Number(f.cell.value) || null,
        });
        this.jobsLine.textContent = `job ${job.id} (${job.name}) ${job.state}`;
        this.kick();
      } catch (err) {
        this.jobsLine.textContent = `could not start: ${err.message}`;
      }
    });
  }

  /** Show the jobs' progress and any newly finished job. Returns whether a job is
   * still queued or running.
   *
   * One refresh is bound to the machine it started on: its requests go there, and it
   * stops, changing nothing, at the first answer that comes back after another machine
   * was picked (reset() has moved to a new epoch and cleared the panel for the new
   * machine's jobs, which a new refresh shows). Otherwise a job the old machine listed
   * would be fetched, its plot too, from the new one (a 404), and shown as the new
   * machine's. */
  refresh() {
    const done = this.refreshOnce();
    this.running.add(done);
    const untrack = () => this.running.delete(done);
    done.then(untrack, untrack);
    return done;
  }

  /** Resolves when every refresh started so far has ended (for the browser tests). */
  async idle() {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  async refreshOnce() {
    const m = machine();
    const epoch = this.epoch;
    const moved = () => this.epoch !== epoch;
    let jobs;
    try {
      jobs = jobsOf(await get("/experiments", { machine: m }));
    } catch (err) {
      if (moved()) return false;
      this.root.dataset.state = "error";
      this.jobsLine.textContent = `GET /experiments failed: ${err.message}`;
      return false;
    }
    if (moved()) return false;
    const active = jobs.filter((j) => ACTIVE.has(statusOf(j)));
    const failed = jobs.filter((j) => !ACTIVE.has(statusOf(j)) && !FINISHED.has(statusOf(j)));
    const lost = failed.length ? `; ${failed.length} failed or cancelled` : "";
    this.jobsLine.textContent = active.length
      ? active
          .map((j) => {
            const p = j.progress || {};
            const prog = p.total ? ` ${p.done}/${p.total}${p.label ? " (" + p.label + ")" : ""}` : "";
            return `job ${idOf(j)} ${j.name}: ${statusOf(j)}${prog}${j.error ? " — " + j.error : ""}`;
          })
          .join("; ") + lost
      : `${jobs.length} job(s), none running${lost}`;
    const finished = jobs.filter((j) => FINISHED.has(statusOf(j)) && !this.shown.has(idOf(j)));
    if (!finished.length) return active.length > 0;
    if (!this.shown.size) this.root.textContent = "";
    // Newest first.
    for (const job of finished) {
      const id = idOf(job);
      if (this.shown.has(id)) continue; // a concurrent refresh got it first
      this.shown.add(id);
      const full = job.result ? job : await get(`/experiments/${encodeURIComponent(id)}`, { machine: m });
      if (moved()) return false;
      const box = await this.render(id, full, m);
      if (moved()) return false;
      this.root.prepend(box);
    }
    this.root.dataset.state = "results";
    return active.length > 0;
  }

  /** The panel's box for finished job `id` of machine `m`. */
  async render(id, job, m) {
    const res = job.result || job;
    const box = el("div", { class: "experiment", "data-job": String(id) });
    const title = res.title || res.name || job.name || `job ${id}`;
    const seed = res.seed !== undefined ? `, seed ${res.seed}` : "";
    const took = res.duration_s !== undefined ? `, ${res.duration_s} s` : "";
    box.appendChild(el("h3", {}, `${title} (job ${id}, ${job.name || res.name}${seed}${res.quick ? ", quick" : ""}${took})`));
    if (Array.isArray(res.targets) && res.targets.length) {
      box.appendChild(
        rowsTable(res.targets.map((t) => ({ target: t.name, value: t.value, bound: t.bound, verdict: t.passed ? "PASS" : "MISS" }))),
      );
    }
    const rows = Array.isArray(res.rows) ? res.rows : [];
    let drawn = false;
    if (job.plot_url) {
      try {
        const headers = token() ? { Authorization: "Bearer " + token() } : {};
        const r = await fetch(onMachine(job.plot_url, m), { headers });
        if (r.ok && (r.headers.get("content-type") || "").startsWith("image/")) {
          const img = el("img", { alt: `plot of ${title}`, class: "plot", src: URL.createObjectURL(await r.blob()) });
          box.appendChild(img);
          drawn = true;
        }
      } catch (_) {
        drawn = false;
      }
    }
    if (!drawn) {
      // No server plot (e.g. matplotlib missing): a line plot of the rows, drawn here.
      const c = rowsPlot(rows);
      if (c) box.appendChild(c);
    }
    if (rows.length) box.appendChild(rowsTable(rows));
    if (job.csv_url) box.appendChild(el("a", { href: onMachine(job.csv_url, m), download: `${job.name}-${id}.csv` }, "rows as CSV"));
    return box;
  }
}
