// zooreg web console: Services (live, over server-sent events), Tree (lazy znode browser), Server (AdminServer
// /monitor figures and a small chart). Plain JavaScript, no dependencies. Untrusted text goes in with textContent.
"use strict";

const PAGE_SIZE = 100;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const message = (body && body.error) || `${response.status} ${response.statusText}`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

function relativeTime(ms) {
  if (!ms) return "—";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

const state = {
  config: null,
  tab: "services",
  instances: new Map(),   // path -> row
  services: new Set(),
  sorted: null,           // cached sorted rows (null: dirty)
  fresh: new Set(),       // paths that appeared recently (highlighted)
  page: 0,
  search: [],
  health: "",
  status: null,
  renderQueued: false,
  treeSelected: null,
};

// ---------------------------------------------------------------- Services

function searchText(row) {
  if (row._search === undefined) {
    const parts = [row.service, row.node, row.endpoint, row.ephemeralOwner || "", row.health, row.id || ""];
    if (row.payload !== undefined && row.payload !== null) parts.push(JSON.stringify(row.payload));
    if (row.sslPort) parts.push(String(row.sslPort));
    row._search = parts.join("\u0001").toLowerCase();
  }
  return row._search;
}

function compareRows(a, b) {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

function sortedRows() {
  if (!state.sorted) state.sorted = Array.from(state.instances.values()).sort(compareRows);
  return state.sorted;
}

function matches(row) {
  if (state.health && row.health !== state.health) return false;
  if (!state.search.length) return true;
  const text = searchText(row);
  return state.search.every((w) => text.includes(w));
}

function connectStream() {
  const source = new EventSource("/api/services/stream");
  source.addEventListener("snapshot", (e) => {
    const snapshot = JSON.parse(e.data);
    state.instances = new Map();
    for (const row of snapshot.instances) state.instances.set(row.path, row);
    state.services = new Set(snapshot.services);
    state.sorted = null;
    setStatus(snapshot.status);
    if (!window.__consoleFirstSnapshotAt) window.__consoleFirstSnapshotAt = performance.now();
    queueRender();
  });
  source.addEventListener("delta", (e) => {
    const delta = JSON.parse(e.data);
    for (const change of delta.changes) {
      switch (change.op) {
        case "upsert":
          if (!state.instances.has(change.instance.path)) {
            state.fresh.add(change.instance.path);
            setTimeout(() => state.fresh.delete(change.instance.path), 2500);
          }
          state.instances.set(change.instance.path, change.instance);
          state.services.add(change.instance.service);
          break;
        case "remove": state.instances.delete(change.path); break;
        case "service": state.services.add(change.name); break;
        case "serviceRemoved": state.services.delete(change.name); break;
      }
    }
    if (delta.changes.length) state.sorted = null;
    if (delta.status) setStatus(delta.status);
    queueRender();
  });
  source.onerror = () => setStatus({ connection: "console offline", initialized: false, offline: true });
}

function setStatus(status) {
  state.status = status;
  const pill = $("status");
  const ok = status.connection === "connected" && status.initialized;
  pill.className = "pill " + (ok ? "pill-ok" : status.offline || status.connection === "expired" || status.connection === "closed" ? "pill-bad" : "pill-wait");
  pill.textContent = status.offline ? "console offline" : ok ? "live" : status.connection === "connected" ? "loading…" : status.connection;
}

function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    if (state.tab === "services") renderServices();
  });
}

function renderServices() {
  const all = sortedRows();
  const matching = [];
  for (const row of all) if (matches(row)) matching.push(row);
  // Services without instances (their name matching the search) show as an empty group.
  const withInstances = new Set(all.map((r) => r.service));
  const emptyServices = state.health ? [] : Array.from(state.services)
    .filter((s) => !withInstances.has(s) && state.search.every((w) => s.toLowerCase().includes(w))).sort();
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  if (state.page >= pages) state.page = pages - 1;
  const start = state.page * PAGE_SIZE;
  const pageRows = matching.slice(start, start + PAGE_SIZE);

  const counts = new Map();
  for (const row of all) {
    const c = counts.get(row.service) || { total: 0, healthy: 0 };
    c.total++; if (row.health === "healthy") c.healthy++;
    counts.set(row.service, c);
  }
  const body = $("instances-body");
  const fragment = document.createDocumentFragment();
  let current = null;
  for (const row of pageRows) {
    if (row.service !== current) {
      current = row.service;
      const c = counts.get(current);
      fragment.append(el("tr", { class: "svc", "data-service": current },
        el("td", { colSpan: 6 }, current, el("span", { class: "count", text: `${c.total} instance${c.total === 1 ? "" : "s"} · ${c.healthy} healthy` }))));
    }
    fragment.append(instanceRow(row));
  }
  if (state.page === pages - 1) {
    for (const name of emptyServices) {
      fragment.append(el("tr", { class: "svc", "data-service": name },
        el("td", { colSpan: 6 }, name, el("span", { class: "count", text: "no instances" }))));
    }
  }
  body.replaceChildren(fragment);

  const unhealthy = all.filter((r) => r.health !== "healthy").length;
  $("summary").textContent = `${state.services.size} services · ${all.length} instances` + (unhealthy ? ` · ${unhealthy} not healthy` : "");
  $("empty").hidden = all.length > 0 || state.services.size > 0;
  $("page-info").textContent = matching.length
    ? `${start + 1}–${start + pageRows.length} of ${matching.length}` : "no matching instances";
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
  if (!window.__consoleFirstRowsAt && pageRows.length) window.__consoleFirstRowsAt = performance.now();
}

function instanceRow(row) {
  const registered = row.registrationTimeUTC ? new Date(row.registrationTimeUTC) : null;
  const payload = row.payload === undefined || row.payload === null ? "" : JSON.stringify(row.payload);
  return el("tr", { class: "instance" + (state.fresh.has(row.path) ? " fresh" : ""), "data-path": row.path, "data-health": row.health },
    el("td", { title: row.path },
      el("a", { class: "node-link", href: "#tree:" + encodeURIComponent(row.path), text: row.id || row.node })),
    el("td", { class: "mono", text: row.endpoint || "—", title: row.uri || row.endpoint }),
    el("td", {}, el("span", { class: "badge " + row.health, text: row.health, title: row.problem || "" })),
    el("td", { text: registered ? relativeTime(row.registrationTimeUTC) : "—", title: registered ? registered.toISOString() : "" }),
    el("td", { class: "mono session", text: row.ephemeralOwner || "persistent", title: "ephemeralOwner: the session that owns the znode" }),
    el("td", { class: "mono", text: payload || (row.problem ? row.problem : ""), title: payload }));
}

// ---------------------------------------------------------------- Tree

function treeItem(child) {
  const li = el("li", { class: "tn", "data-path": child.path });
  const toggle = el("span", { class: "tn-toggle", text: child.numChildren > 0 ? "▸" : "·" });
  const row = el("div", { class: "tn-row" }, toggle,
    el("span", { class: "tn-label", text: child.name === "" ? "/" : child.name }),
    child.ephemeralOwner ? el("span", { class: "tn-eph", text: "ephemeral", title: child.ephemeralOwner }) : null);
  li.append(row);
  li._info = child;
  toggle.addEventListener("click", (e) => { e.stopPropagation(); toggleNode(li); });
  row.addEventListener("click", () => { selectNode(child.path); if (child.numChildren > 0 && !li._expanded) toggleNode(li); });
  return li;
}

async function toggleNode(li, forceOpen) {
  if (li._expanded && !forceOpen) {
    li._expanded = false;
    const list = li.querySelector(":scope > ul");
    if (list) list.remove();
    li.querySelector(".tn-toggle").textContent = "▸";
    return;
  }
  if (li._expanded) return;
  li._expanded = true;
  li.querySelector(".tn-toggle").textContent = "▾";
  const list = el("ul");
  li.append(list);
  await loadChildren(li.dataset.path, list, 0);
}

async function loadChildren(path, list, offset) {
  try {
    const page = await api(`/api/tree/children?path=${encodeURIComponent(path)}&offset=${offset}&limit=500`);
    for (const child of page.children) list.append(treeItem(child));
    if (page.offset + 500 < page.total) {
      const more = el("li", { class: "tn-more", text: `${page.total - page.offset - 500} more…` });
      more.addEventListener("click", () => { more.remove(); loadChildren(path, list, page.offset + 500); });
      list.append(more);
    }
  } catch (error) {
    list.append(el("li", { class: "msg err", text: error.message }));
  }
}

function initTree() {
  const root = treeItem({ name: "", path: "/", numChildren: 1, ephemeralOwner: null });
  $("tree-root").replaceChildren(root);
  toggleNode(root, true);
}

async function openPath(path) {
  showTab("tree");
  if (!$("tree-root").firstChild) initTree();
  const segments = path === "/" ? [] : path.slice(1).split("/");
  let current = "/";
  for (let i = 0; i < segments.length; i++) {
    const li = document.querySelector(`li.tn[data-path="${CSS.escape(current)}"]`);
    if (!li) break;
    if (!li._expanded) await toggleNode(li, true);
    else if (!li.querySelector(":scope > ul > li.tn")) await new Promise((r) => setTimeout(r, 50));
    current = current === "/" ? "/" + segments[i] : current + "/" + segments[i];
  }
  selectNode(path);
  const target = document.querySelector(`li.tn[data-path="${CSS.escape(path)}"] > .tn-row`);
  if (target) target.scrollIntoView({ block: "nearest" });
}

async function selectNode(path) {
  state.treeSelected = path;
  document.querySelectorAll(".tn-row.selected").forEach((r) => r.classList.remove("selected"));
  const row = document.querySelector(`li.tn[data-path="${CSS.escape(path)}"] > .tn-row`);
  if (row) row.classList.add("selected");
  const pane = $("node-pane");
  try {
    const node = await api(`/api/tree/node?path=${encodeURIComponent(path)}`, { headers: authHeaders() });
    if (state.treeSelected !== path) return;
    renderNode(node);
  } catch (error) {
    if (state.treeSelected !== path) return;
    pane.replaceChildren(el("h2", { id: "node-path", text: path }), el("p", { class: "msg err", text: error.message }));
  }
}

function renderNode(node) {
  const data = node.data;
  const views = [];
  if (data.kind === "json") views.push(["json", "JSON", data.json]);
  if (data.text !== null && data.kind !== "binary") views.push(["text", "Text", data.text]);
  views.push(["hex", "Hex", data.hex]);
  const pre = el("pre", { class: "data", id: "node-data" });
  const seg = el("div", { class: "seg", id: "data-views" });
  const show = (key) => {
    for (const b of seg.children) b.classList.toggle("on", b.dataset.view === key);
    const view = views.find((v) => v[0] === key);
    pre.textContent = data.size === 0 ? "(no data)" : view[2];
    pre.dataset.view = key;
  };
  for (const [key, label] of views) seg.append(el("button", { type: "button", "data-view": key, text: label, onclick: () => show(key) }));

  const stat = el("table", { class: "kv", id: "stat-table" });
  for (const [k, v] of Object.entries(node.stat)) {
    let shown = v === null ? "—" : String(v);
    if ((k === "ctime" || k === "mtime") && v) shown = `${new Date(v).toISOString()} (${v})`;
    stat.append(el("tr", {}, el("td", { text: k }), el("td", { class: "mono", "data-key": k, text: shown })));
  }
  const acl = el("table", { class: "kv", id: "acl-table" });
  if (node.acl) for (const a of node.acl) acl.append(el("tr", {}, el("td", { class: "mono", text: `${a.scheme}:${a.id}` }), el("td", { class: "mono", text: a.perms })));
  else acl.append(el("tr", {}, el("td", { text: "not readable" })));

  const parts = [
    el("h2", { id: "node-path", text: node.path }),
    el("p", { class: "note" },
      node.ephemeralOwner
        ? ["Ephemeral, owned by session ", el("span", { class: "owner", id: "node-owner", text: node.ephemeralOwner })]
        : el("span", { id: "node-owner", "data-persistent": "1", text: "Persistent znode" }),
      ` · ${data.size} bytes` + (data.truncated ? " (truncated)" : "")),
  ];
  if (node.instance) {
    const i = node.instance;
    parts.push(el("p", { class: "note" }, "Service instance ", el("b", { text: `${i.service}/${i.id || i.node}` }),
      ` · ${i.endpoint || "no address"} · `, el("span", { class: "badge " + i.health, text: i.health })));
  }
  parts.push(el("h3", { text: "Data" }), seg, pre, el("h3", { text: "Stat" }), stat, el("h3", { text: "ACL" }), acl);
  if (state.config && state.config.editEnabled) parts.push(editPanel(node));
  $("node-pane").replaceChildren(...parts);
  show(views[0][0]);
}

// ---------------------------------------------------------------- Editing (only when console.editEnabled)

const credentials = { user: "", password: "" };
function authHeaders() {
  const h = {};
  if (credentials.user && credentials.password) h["Authorization"] = "Basic " + btoa(unescape(encodeURIComponent(`${credentials.user}:${credentials.password}`)));
  return h;
}

function editPanel(node) {
  const last = state.editMessage && state.editMessage.path === node.path ? state.editMessage : null;
  state.editMessage = null;
  const msg = el("span", { class: last ? "msg " + last.cls : "msg", text: last ? last.text : "" });
  const user = el("input", { type: "text", placeholder: "digest user", value: credentials.user, oninput: (e) => { credentials.user = e.target.value; } });
  const pass = el("input", { type: "password", placeholder: "password", value: credentials.password, oninput: (e) => { credentials.password = e.target.value; } });
  const text = el("textarea", { id: "edit-data", value: node.data.text || "" });
  const child = el("input", { type: "text", placeholder: "new child name" });
  const write = async (method, path, body) => {
    msg.className = "msg"; msg.textContent = "…";
    try {
      await api(`/api/tree/node?path=${encodeURIComponent(path)}`, {
        method, headers: Object.assign({ "Content-Type": "application/json" }, authHeaders()), body: JSON.stringify(body),
      });
      const next = method === "DELETE" ? parentOf(path) : node.path;
      state.editMessage = { path: next, cls: "ok", text: "done" };
      selectNode(next);
    } catch (error) { msg.className = "msg err"; msg.textContent = error.message; }
  };
  const needs = state.config.writesRequireCredentials ? "Credentials are required (the console listens on a non-loopback address)." : "Without credentials writes use the console's own session.";
  return el("div", { class: "edit" }, el("h3", { text: "Edit" }), el("p", { class: "note", text: needs + " ZooKeeper ACLs apply." }),
    el("div", { class: "row" }, user, pass), text,
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", text: `Save (version ${node.stat.version})`, onclick: () => write("PUT", node.path, { data: text.value, version: node.stat.version }) }),
      child, el("button", { type: "button", text: "Create child", onclick: () => child.value && write("POST", node.path === "/" ? "/" + child.value : node.path + "/" + child.value, { data: "" }) }),
      node.path !== "/" ? el("button", { type: "button", class: "danger", text: "Delete", onclick: () => confirm(`Delete ${node.path}?`) && write("DELETE", node.path, { version: node.stat.version }) }) : null,
      msg));
}

function parentOf(path) { const i = path.lastIndexOf("/"); return i <= 0 ? "/" : path.slice(0, i); }

// ---------------------------------------------------------------- Server

const samples = [];   // { t, received, sent, latency }
const HISTORY_MS = 5 * 60 * 1000;

function figure(m, key) {
  for (const k of [key, "zk_" + key]) if (m[k] !== undefined && m[k] !== null) return m[k];
  return undefined;
}

async function pollServer() {
  const url = (state.config ? state.config.commandURL : "/commands") + "/monitor";
  try {
    const m = await api(url);
    $("server-error").hidden = true;
    const now = Date.now();
    samples.push({ t: now, received: Number(figure(m, "packets_received")), sent: Number(figure(m, "packets_sent")), latency: Number(figure(m, "avg_latency")) });
    while (samples.length && samples[0].t < now - HISTORY_MS) samples.shift();
    renderServer(m);
  } catch (error) {
    const banner = $("server-error");
    banner.hidden = false;
    banner.textContent = `The AdminServer's ${url} is not available: ${error.message}`;
  }
}

function renderServer(m) {
  const role = figure(m, "server_state");
  const cards = [
    ["Role", role === undefined ? "—" : role === "standalone" ? "standalone" : `replica (${role})`],
    ["Sessions", figure(m, "global_sessions") ?? figure(m, "num_alive_connections")],
    ["Connections", figure(m, "num_alive_connections")],
    ["Watches", figure(m, "watch_count")],
    ["Outstanding", figure(m, "outstanding_requests")],
    ["Znodes", figure(m, "znode_count")],
    ["Ephemerals", figure(m, "ephemerals_count")],
    ["Latency avg/max", [figure(m, "avg_latency"), figure(m, "max_latency")].map((v) => v ?? "—").join(" / ") + " ms"],
  ];
  $("server-cards").replaceChildren(...cards.map(([k, v]) =>
    el("div", { class: "card", "data-key": k }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v === undefined || v === null ? "—" : String(v) }))));
  const replication = $("replication");
  const rows = Object.keys(m).filter((k) => /^(zk_)?(log_|synced_|learners|peer_state|leader|quorum)/.test(k)).sort();
  replication.replaceChildren(...(rows.length ? rows.map((k) => el("tr", {}, el("td", { text: k }), el("td", { class: "mono", text: String(m[k]) })))
    : [el("tr", {}, el("td", { text: role === "standalone" ? "Standalone server: no replication." : "No replication figures reported." }))]));
  drawChart();
}

function drawChart() {
  const canvas = $("chart");
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 900, height = canvas.clientHeight || 220;
  if (canvas.width !== width * dpr) { canvas.width = width * dpr; canvas.height = height * dpr; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const pad = { l: 44, r: 44, t: 10, b: 22 };
  const now = Date.now();
  const ops = [], lat = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = (b.t - a.t) / 1000;
    if (dt > 0 && isFinite(b.received - a.received)) ops.push([b.t, Math.max(0, (b.received - a.received) / dt)]);
    if (isFinite(b.latency)) lat.push([b.t, b.latency]);
  }
  const maxOps = Math.max(1, ...ops.map((p) => p[1])) * 1.15;
  const maxLat = Math.max(1, ...lat.map((p) => p[1])) * 1.15;
  const x = (t) => pad.l + (width - pad.l - pad.r) * (1 - (now - t) / HISTORY_MS);
  ctx.strokeStyle = "#e3e6ec"; ctx.lineWidth = 1; ctx.font = "11px system-ui"; ctx.fillStyle = "#6b7385";
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (height - pad.t - pad.b) * i / 4;
    ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(width - pad.r, y); ctx.stroke();
    ctx.textAlign = "right"; ctx.fillText(formatNumber(maxOps * (1 - i / 4)), pad.l - 6, y + 4);
    ctx.textAlign = "left"; ctx.fillText(formatNumber(maxLat * (1 - i / 4)), width - pad.r + 6, y + 4);
  }
  ctx.textAlign = "center";
  for (let m = 0; m <= 5; m++) ctx.fillText(m === 0 ? "now" : `-${m}m`, x(now - m * 60000), height - 6);
  const line = (points, max, color) => {
    if (points.length < 1) return;
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    points.forEach(([t, v], i) => {
      const px = x(t), py = pad.t + (height - pad.t - pad.b) * (1 - v / max);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  };
  line(ops, maxOps, "#2f6fde");
  line(lat, maxLat, "#d97706");
  window.__chartPoints = { ops: ops.length, latency: lat.length };
}

function formatNumber(v) { return v >= 1000 ? (v / 1000).toFixed(1) + "k" : v >= 10 ? Math.round(v).toString() : v.toFixed(1); }

// ---------------------------------------------------------------- Navigation

function showTab(tab) {
  state.tab = tab;
  for (const name of ["services", "tree", "server"]) {
    $("page-" + name).hidden = name !== tab;
    $("tab-" + name).classList.toggle("active", name === tab);
  }
  if (tab === "services") queueRender();
  if (tab === "tree" && !$("tree-root").firstChild) initTree();
  if (tab === "server") drawChart();
}

function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith("tree:")) openPath(hash.slice(5) || "/");
  else showTab(["tree", "server"].includes(hash) ? hash : "services");
}

async function main() {
  try { state.config = await api("/api/console"); } catch (_) { state.config = { commandURL: "/commands", editEnabled: false, basePath: "/services" }; }
  $("base-path").textContent = state.config.basePath;
  let timer = null;
  $("search").addEventListener("input", (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = e.target.value.toLowerCase().split(/\s+/).filter(Boolean); state.page = 0; queueRender(); }, 80);
  });
  $("health").addEventListener("change", (e) => { state.health = e.target.value; state.page = 0; queueRender(); });
  $("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); queueRender(); });
  $("next").addEventListener("click", () => { state.page++; queueRender(); });
  window.addEventListener("hashchange", route);
  connectStream();
  route();
  pollServer();
  setInterval(pollServer, 2000);
  setInterval(() => { if (state.tab === "services") queueRender(); }, 30000); // relative times
}

main();
