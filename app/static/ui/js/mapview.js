// The address-space map: one <canvas>, never one DOM node per VMA.
//
// The axis (maps.js buildAxis) is one long line; the visible window [view0, view0 +
// span) of it is wrapped into ROWS rows across the canvas. Drawing walks each row
// pixel by pixel through the VMAs: a VMA wider than a pixel is drawn once; where many
// VMAs fall into one pixel the walk jumps to the next pixel with a binary search, so
// a frame costs O(width * rows * log n) whatever n is (65,530 VMAs included).
// Wheel zooms around the cursor, drag pans, double-click resets; hover shows the exact
// maps line; a click selects the VMA (onSelect).

import {
  KINDS,
  KIND_COLOURS,
  PERM_COLOURS,
  buildAxis,
  firstEndingAfter,
  formatBytes,
  hexPage,
  pageAt,
} from "./maps.js";

const ROW_HEIGHT = 46;
const BAR_TOP = 14; // room for the row's address label
const BAR_HEIGHT = 28;
const PERM_STRIP = 6;

export class MapView {
  constructor(canvas, tooltip, rows = 6) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.rows = rows;
    this.model = null;
    this.axis = null;
    this.scale = "loggaps";
    this.view0 = 0;
    this.span = 1;
    this.selected = -1;
    this.fitted = true;
    this.onSelect = null;
    this.emptyText = "no process"; // shown while there is no model (set by the page)
    this.stats = { frames: 0, lastFrameMs: 0, maxFrameMs: 0, drawnRects: 0 };
    this._pending = false;
    this._drag = null;
    this._hoverIndex = -2;
    canvas.height = rows * ROW_HEIGHT;
    this._bind();
    new ResizeObserver(() => this.requestDraw()).observe(canvas.parentElement);
  }

  /** Show a new model (a parsed snapshot). Keeps the zoom when the layout only changed. */
  setModel(model) {
    this.model = model;
    this.axis = buildAxis(model, this.scale);
    // A view showing everything keeps showing everything; a zoomed view stays put
    // (clamped to the new axis).
    if (this.fitted || this.span > this.axis.length) {
      this.resetView();
    } else {
      this.view0 = Math.min(this.view0, this.axis.length - this.span);
    }
    this._hoverIndex = -2;
    this.requestDraw();
  }

  setScale(scale) {
    this.scale = scale;
    if (this.model) {
      this.axis = buildAxis(this.model, scale);
      this.resetView();
    }
  }

  resetView() {
    this.fitted = true;
    this.view0 = 0;
    this.span = this.axis ? this.axis.length : 1;
    this.requestDraw();
  }

  /** Zoom by `factor` (< 1: in) keeping axis position `pos` where it is. */
  zoom(factor, pos) {
    if (!this.axis) return;
    const min = Math.min(4, this.axis.length);
    const span = Math.min(Math.max(this.span * factor, min), this.axis.length);
    this.fitted = span >= this.axis.length;
    const at = pos === undefined ? this.view0 + this.span / 2 : pos;
    const frac = (at - this.view0) / this.span;
    this.span = span;
    this.view0 = Math.min(Math.max(at - frac * span, 0), this.axis.length - span);
    this.requestDraw();
  }

  /** Zoom so that VMA i fills about a third of the view. */
  focus(i) {
    if (!this.axis || i < 0 || i >= this.model.n) return;
    const w = Math.max(this.axis.x1[i] - this.axis.x0[i], 1);
    this.span = Math.min(Math.max(w * 3 * this.rows, 4), this.axis.length);
    this.fitted = false;
    this.view0 = Math.max(0, Math.min(this.axis.x0[i] - w, this.axis.length - this.span));
    this.requestDraw();
  }

  requestDraw() {
    if (this._pending) return;
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      this.draw();
    });
  }

  /** Axis position of canvas point (x, y), or null outside the bars' rows. */
  posAt(x, y) {
    const row = Math.floor(y / ROW_HEIGHT);
    if (row < 0 || row >= this.rows) return null;
    const w = this.canvas.width;
    const perRow = this.span / this.rows;
    return this.view0 + row * perRow + (x / w) * perRow;
  }

  /** The VMA index at axis position pos, or -1 in a gap. */
  indexAt(pos) {
    const m = this.model;
    if (!m || pos === null) return -1;
    const i = firstEndingAfter(this.axis.x1, m.n, pos);
    return i < m.n && pos >= this.axis.x0[i] ? i : -1;
  }

  draw() {
    const t0 = performance.now();
    const canvas = this.canvas;
    const width = Math.max(200, Math.floor(canvas.parentElement.clientWidth));
    if (canvas.width !== width) canvas.width = width;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const m = this.model;
    if (!m || !m.n) {
      ctx.fillStyle = "#777";
      ctx.font = "13px sans-serif";
      ctx.fillText(m ? "empty address space" : this.emptyText, 10, 30);
      return;
    }
    const { x0, x1 } = this.axis;
    const perRow = this.span / this.rows;
    const pxPerUnit = width / perRow;
    let rects = 0;
    ctx.font = "10px monospace";
    for (let row = 0; row < this.rows; row++) {
      const rowStart = this.view0 + row * perRow;
      const rowEnd = rowStart + perRow;
      const top = row * ROW_HEIGHT + BAR_TOP;
      ctx.fillStyle = "#f0f0f0";
      ctx.fillRect(0, top, width, BAR_HEIGHT);
      let i = firstEndingAfter(x1, m.n, rowStart);
      let label = null;
      while (i < m.n && x0[i] < rowEnd) {
        const a = Math.max(0, (x0[i] - rowStart) * pxPerUnit);
        const b = Math.min(width, (x1[i] - rowStart) * pxPerUnit);
        if (label === null) label = i;
        this._drawVma(ctx, i, a, Math.max(b - a, 1), top);
        rects++;
        if (b - a >= 1) {
          i++;
          // A gap wider than 3 px is marked (≈) when gaps are compressed.
          if (i < m.n && this.scale !== "linear") {
            const gapPx = (x0[i] - x1[i - 1]) * pxPerUnit;
            if (gapPx > 3) this._gapMark(ctx, b, Math.min(gapPx, width - b), top);
          }
        } else {
          // Sub-pixel VMAs: jump to the first VMA reaching the next pixel.
          const nextPos = rowStart + (Math.floor(a) + 1) / pxPerUnit;
          i = Math.max(i + 1, firstEndingAfter(x1, m.n, nextPos));
        }
      }
      const page = pageAt(m, this.axis, rowStart);
      ctx.fillStyle = "#555";
      ctx.fillText(hexPage(page), 2, row * ROW_HEIGHT + 10);
      const endPage = pageAt(m, this.axis, rowEnd);
      const endText = hexPage(endPage);
      ctx.fillText(endText, width - ctx.measureText(endText).width - 2, row * ROW_HEIGHT + 10);
    }
    const ms = performance.now() - t0;
    this.stats.frames++;
    this.stats.lastFrameMs = ms;
    this.stats.maxFrameMs = Math.max(this.stats.maxFrameMs, ms);
    this.stats.drawnRects = rects;
  }

  _drawVma(ctx, i, x, w, top) {
    const m = this.model;
    ctx.fillStyle = KIND_COLOURS[KINDS[m.kind[i]]];
    ctx.fillRect(x, top + PERM_STRIP, w, BAR_HEIGHT - PERM_STRIP);
    ctx.fillStyle = PERM_COLOURS[m.perms[i].slice(0, 3)] || "#000";
    ctx.fillRect(x, top, w, PERM_STRIP);
    // Resident share (smaps Rss / size) as a dark band along the bottom.
    const rss = m.rss[i];
    if (rss > 0) {
      const frac = Math.min(1, rss / 4 / (m.end[i] - m.start[i]));
      const h = Math.max(2, Math.round(frac * (BAR_HEIGHT - PERM_STRIP - 2)));
      ctx.fillStyle = "rgba(0,0,0,0.45)";
      ctx.fillRect(x, top + BAR_HEIGHT - h, w, h);
    }
    if (w >= 3) {
      ctx.fillStyle = "#fff";
      ctx.fillRect(x + w - 1, top, 1, BAR_HEIGHT);
    }
    if (i === this.selected) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, top + 1, Math.max(w - 2, 1), BAR_HEIGHT - 2);
    }
  }

  _gapMark(ctx, x, w, top) {
    ctx.strokeStyle = "#aaa";
    ctx.lineWidth = 1;
    const mid = x + w / 2;
    ctx.beginPath();
    ctx.moveTo(mid - 3, top + BAR_HEIGHT / 2 + 3);
    ctx.lineTo(mid + 1, top + BAR_HEIGHT / 2 - 3);
    ctx.moveTo(mid - 1, top + BAR_HEIGHT / 2 + 3);
    ctx.lineTo(mid + 3, top + BAR_HEIGHT / 2 - 3);
    ctx.stroke();
  }

  /** The hover text for canvas point (x, y): the exact maps line, or the gap. */
  describe(x, y) {
    const m = this.model;
    const pos = this.posAt(x, y);
    if (!m || pos === null || !m.n) return null;
    const i = this.indexAt(pos);
    if (i >= 0) {
      const size = (m.end[i] - m.start[i]) * 4096;
      const rss = m.rss[i];
      const res = Number.isNaN(rss) ? "" : `, resident ${formatBytes(rss * 1024)}`;
      return { index: i, line: m.lines[i], extra: `${KINDS[m.kind[i]]}, ${formatBytes(size)}${res}` };
    }
    const j = firstEndingAfter(this.axis.x1, m.n, pos);
    if (j <= 0 || j >= m.n) return null;
    const g0 = m.end[j - 1];
    const g1 = m.start[j];
    return {
      index: -1,
      line: `gap ${hexPage(g0)}-${hexPage(g1)}`,
      extra: `unmapped, ${formatBytes((g1 - g0) * 4096)}`,
    };
  }

  _bind() {
    const c = this.canvas;
    const point = (ev) => {
      const r = c.getBoundingClientRect();
      return [((ev.clientX - r.left) * c.width) / r.width, ((ev.clientY - r.top) * c.height) / r.height];
    };
    c.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        const [x, y] = point(ev);
        const pos = this.posAt(x, y);
        this.zoom(ev.deltaY < 0 ? 0.8 : 1.25, pos === null ? undefined : pos);
      },
      { passive: false },
    );
    c.addEventListener("mousedown", (ev) => {
      this._drag = { x: ev.clientX, view0: this.view0, moved: false };
    });
    window.addEventListener("mouseup", () => {
      setTimeout(() => (this._drag = null), 0);
    });
    c.addEventListener("mousemove", (ev) => {
      const [x, y] = point(ev);
      if (this._drag && ev.buttons === 1) {
        const dx = ev.clientX - this._drag.x;
        if (Math.abs(dx) > 2) this._drag.moved = true;
        const perRow = this.span / this.rows;
        const rect = c.getBoundingClientRect();
        const max = Math.max(this.axis.length - this.span, 0);
        this.view0 = Math.min(Math.max(this._drag.view0 - (dx / rect.width) * perRow, 0), max);
        if (this._drag.moved) this.fitted = false;
        this.requestDraw();
      }
      const d = this.describe(x, y);
      if (!d) {
        this.tooltip.hidden = true;
        return;
      }
      this.tooltip.hidden = false;
      this.tooltip.querySelector(".line").textContent = d.line;
      this.tooltip.querySelector(".extra").textContent = d.extra;
      const box = c.parentElement.getBoundingClientRect();
      const left = Math.min(ev.clientX - box.left + 12, box.width - 420);
      this.tooltip.style.left = Math.max(0, left) + "px";
      this.tooltip.style.top = ev.clientY - box.top + 16 + "px";
    });
    c.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
    c.addEventListener("click", (ev) => {
      if (this._drag && this._drag.moved) return;
      const [x, y] = point(ev);
      const i = this.indexAt(this.posAt(x, y));
      this.selected = i;
      this.requestDraw();
      if (this.onSelect) this.onSelect(i);
    });
    c.addEventListener("dblclick", () => this.resetView());
  }
}
