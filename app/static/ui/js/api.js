// The page's only way to the engine: the public REST API and the SSE maps stream.
// Every request goes through request(); a bearer token (VMASIM_TOKEN) typed into the
// page is kept in sessionStorage and sent as Authorization. The SSE stream is read
// with fetch() rather than EventSource so that it can carry that header too and be
// aborted deterministically.

const TOKEN_KEY = "vmasim.token";

// The simulated machine the page shows. Requests for what belongs to a machine (its
// processes, counters, pause points, experiment jobs) go to /machines/<id>/...; the
// machine "default" keeps the paths without a prefix.
export const DEFAULT_MACHINE = "default";
const MACHINE_ROOTS = /^\/(processes|vmstat|metrics|pause-points|experiments)(\/|\?|$)/;
let currentMachine = DEFAULT_MACHINE;

export function machine() {
  return currentMachine;
}

export function setMachine(id) {
  currentMachine = id || DEFAULT_MACHINE;
}

/** `path` on machine `id`, by default the page's (service-wide paths such as /machines
 * stay as they are). A task that spans several requests passes the machine it started
 * on: the user may pick another while it waits for an answer. */
export function onMachine(path, id = currentMachine) {
  if (id === DEFAULT_MACHINE || !MACHINE_ROOTS.test(path)) return path;
  return `/machines/${encodeURIComponent(id)}${path}`;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = token();
  if (t) h.Authorization = "Bearer " + t;
  return h;
}

/** An API failure: status, the problem document (RFC 9457) if any, and a message. */
export class ApiError extends Error {
  constructor(status, problem, method, path) {
    const detail = problem && (problem.detail || problem.title);
    const errno = problem && problem.errno_name ? problem.errno_name + ": " : "";
    super(`${method} ${path} -> ${status} ${errno}${detail || ""}`.trim());
    this.status = status;
    this.problem = problem;
  }
}

/**
 * One request. `body` (an object) is sent as JSON; the answer is parsed as JSON unless
 * `opts.text` (then {text, headers}). `opts.signal` aborts it, `opts.timeout` (ms)
 * aborts it after that long (an AbortError is thrown). `opts.machine` sends it to that
 * machine rather than the page's current one (onMachine).
 */
export async function request(method, path, body, opts = {}) {
  path = onMachine(path, opts.machine);
  const init = { method, headers: headers(body === undefined ? {} : { "content-type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let timer = null;
  if (opts.timeout) {
    const ctl = new AbortController();
    if (opts.signal) opts.signal.addEventListener("abort", () => ctl.abort());
    timer = setTimeout(() => ctl.abort(), opts.timeout);
    init.signal = ctl.signal;
  } else if (opts.signal) {
    init.signal = opts.signal;
  }
  try {
    const r = await fetch(path, init);
    if (!r.ok) {
      let problem = null;
      try {
        problem = await r.json();
      } catch (_) {
        problem = null;
      }
      throw new ApiError(r.status, problem, method, path);
    }
    if (opts.text) return { text: await r.text(), headers: r.headers };
    if (r.status === 204) return null;
    return await r.json();
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

export const get = (path, opts) => request("GET", path, undefined, opts);
export const post = (path, body, opts) => request("POST", path, body === undefined ? {} : body, opts);
export const del = (path, opts) => request("DELETE", path, undefined, opts);

/**
 * Read a Server-Sent Events stream with fetch. Calls onEvent(name, data) per event
 * (data parsed as JSON). Resolves when the server ends the stream, rejects on an
 * HTTP error; abort with `signal`.
 */
export async function readEvents(path, signal, onEvent) {
  path = onMachine(path);
  const r = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal });
  if (!r.ok) {
    let problem = null;
    try {
      problem = await r.json();
    } catch (_) {
      problem = null;
    }
    throw new ApiError(r.status, problem, "GET", path);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    // Events end with a blank line (the server sends \n line ends).
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

/** Parse "0x1f000", "1f000" (hex) or a decimal string into a page-exact Number of bytes
 * when below 2^53, else return the hex string untouched (the API accepts both). */
export function parseAddr(text) {
  const s = String(text).trim().toLowerCase();
  if (!s) return null;
  if (/^0x[0-9a-f]+$/.test(s)) return s;
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (/^[0-9a-f]+$/.test(s)) return "0x" + s;
  throw new Error(`not an address: ${JSON.stringify(text)}`);
}
