"use strict";
// The tracker's dashboard: reads the tracker's own API (same origin, the session cookie) about
// once a second and draws tables and SVG charts. No framework, nothing fetched from elsewhere.

const SVG = "http://www.w3.org/2000/svg";
const LANES = ["p1", "p2", "p3", "informational"];

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") el.className = v; else if (k === "on") Object.entries(v).forEach(([e, f]) => el.addEventListener(e, f));
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const fmt = {
  int: (n) => (n == null ? "–" : Number(n).toLocaleString("en-US")),
  pct: (x) => (x == null ? "–" : `${Math.round(x * 100)}%`),
  hours: (x) => (x == null ? "–" : `${Number(x).toFixed(1)} h`),
  days: (x) => (x == null ? "–" : `${Number(x).toFixed(1)} d`),
  time: (x) => (x == null ? "–" : String(x).replace("T", " ").slice(0, 19)),
};

async function get(path) {
  const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  // signed out: this page again, which asks for a key and comes back here
  if (r.status === 401) { location.reload(); throw new Error("signed out"); }
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// ---- sortable tables: the sort survives each refresh ----

const sorts = {};
let rerender = () => {};  // the view on screen, drawn again (after a click on a column)
function table(id, columns, rows, rowAttrs = () => ({})) {
  const sort = sorts[id] || { key: columns[1].key, dir: -1 };
  const sorted = [...rows].sort((a, b) => {
    const x = a[sort.key], y = b[sort.key];
    if (x == null) return 1; if (y == null) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
  });
  const head = h("tr", {}, columns.map((c) => h("th", {
    class: c.text ? "text" : null, scope: "col",
    "aria-sort": sort.key === c.key ? (sort.dir > 0 ? "ascending" : "descending") : null,
    on: { click: () => { sorts[id] = { key: c.key, dir: sort.key === c.key ? -sort.dir : -1 }; rerender(); } },
  }, c.label)));
  const body = sorted.map((row) => h("tr", rowAttrs(row), columns.map((c) => {
    const cell = c.cell ? c.cell(row) : fmt.int(row[c.key]);
    return h("td", { class: (c.text ? "text " : "") + (c.cls ? c.cls(row) : "") }, cell);
  })));
  return h("table", { id }, h("thead", {}, head), h("tbody", {}, body));
}

// ---- charts ----

function bars(values, labels, { width = 360, height = 170, mark = null, markLabel = "" } = {}) {
  const max = Math.max(1, ...values);
  const bw = (width - 40) / values.length;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height + 40}`, role: "img", width: "100%" });
  values.forEach((v, i) => {
    const bh = (v / max) * height;
    svg.append(s("rect", { x: 30 + i * bw + 1, y: height - bh + 5, width: bw - 2, height: bh, fill: "#1f4e8c" },
      s("title", {}, `${labels[i]}: ${v}`)));
    if (v) svg.append(s("text", { x: 30 + i * bw + bw / 2, y: height - bh, "text-anchor": "middle" }, v));
    if (i % 2 === 0) svg.append(s("text", { x: 30 + i * bw + bw / 2, y: height + 22, "text-anchor": "middle" }, labels[i]));
  });
  if (mark != null) {
    const x = 30 + mark * bw;
    svg.append(s("line", { x1: x, x2: x, y1: 0, y2: height + 8, stroke: "#9b1c1c", "stroke-width": 3, "stroke-dasharray": "6 4" }));
    svg.append(s("text", { x: x + 4, y: 14, fill: "#9b1c1c" }, markLabel));
  }
  return svg;
}

function lines(points, series, { width = 760, height = 220 } = {}) {
  const max = Math.max(1, ...points.flatMap((p) => series.map((m) => p[m.key])));
  const step = (width - 50) / Math.max(1, points.length - 1);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height + 40}`, role: "img", width: "100%" });
  svg.append(s("text", { x: 0, y: 12 }, max));
  svg.append(s("line", { x1: 40, x2: width, y1: height + 5, y2: height + 5, stroke: "#888" }));
  series.forEach((m) => {
    const path = points.map((p, i) => `${i ? "L" : "M"}${40 + i * step},${height + 5 - (p[m.key] / max) * height}`).join(" ");
    svg.append(s("path", { d: path, fill: "none", stroke: m.color, "stroke-width": 3, "stroke-dasharray": m.dash || "" },
      s("title", {}, m.label)));
  });
  const first = points[0], last = points[points.length - 1];
  if (first) svg.append(s("text", { x: 40, y: height + 26 }, `hour ${first.hour}`));
  if (last) svg.append(s("text", { x: width, y: height + 26, "text-anchor": "end" }, `hour ${last.hour} (now)`));
  return svg;
}

// ---- the workshop: the simulated clock, the scenario running, the faults in force ----

const state = { gap: null, pipeline: null, hist: null, series: null, dark: null, samples: [],
  faults: [], clock: null, scenario: null, groupSamples: [] };

function workshop() {
  const clock = state.clock ? state.clock.text : "–";
  const sc = state.scenario;
  const faults = state.faults || [];
  return h("section", { id: "workshop", class: faults.length ? "faults-on" : "" },
    h("div", { class: "clock", id: "sim-clock", title: "simulated time since the stack's clock began" }, clock),
    sc ? h("div", { class: "scenario", id: "scenario-banner" },
      h("strong", {}, sc.title), ` — step ${sc.index} of ${sc.of}: ${sc.step}`) : "",
    faults.length ? h("div", { class: "faults", id: "faults-banner" },
      h("strong", {}, `${faults.length} fault${faults.length > 1 ? "s" : ""} in force: `),
      h("ul", {}, faults.map((f) => h("li", { "data-fault": `${f.kind}:${f.target}` },
        h("strong", {}, `${f.kind} ${f.target} = ${f.value}`), ` (${f.meaning})`,
        f.until ? ` for ${Math.max(0, Math.round(f.until - Date.now() / 1000))} s more` : " until cleared",
        h("div", { class: "muted" }, `look for: ${f.lookFor}`))))) : "");
}

// ---- the pipeline drawn live: every service, the streams between them, their backlogs ----

const SERVICES = [
  { name: "intake", x: 10, y: 50 }, { name: "triage", x: 270, y: 50 },
  { name: "router", x: 530, y: 50 }, { name: "agencies", x: 790, y: 50 },
  { name: "tracker", x: 400, y: 250 },
];

function groupRates() {
  // entries read per second by each group over the last samples (the pipeline answer, once a second)
  const now = state.groupSamples[state.groupSamples.length - 1];
  const then = state.groupSamples.find((x) => now && now.t - x.t <= 5000) || now;
  const rates = {};
  if (!now || !then || now.t === then.t) return rates;
  for (const [key, read] of Object.entries(now.read)) {
    if (then.read[key] != null) rates[key] = Math.max(0, (read - then.read[key]) / ((now.t - then.t) / 1000));
  }
  return rates;
}

function serviceFigures(service, rates) {
  const mine = (state.pipeline || []).filter((g) => g.group === service.name);
  const sum = (f) => mine.reduce((n, g) => n + f(g), 0);
  return { backlog: sum((g) => g.lag + g.pending), pending: sum((g) => g.pending),
    rate: sum((g) => rates[`${g.stream} ${g.group}`] || 0),
    replicas: mine.length ? Math.max(...mine.map((g) => g.consumers)) : null };
}

function faultsOn(target) {
  return (state.faults || []).filter((f) => f.target === target);
}

function pipelineView() {
  const rates = groupRates();
  const svg = s("svg", { id: "pipeline", viewBox: "0 0 1000 390", role: "img", width: "100%",
    "aria-label": "the pipeline: services, streams and their backlogs" });
  const box = 180, tall = 120;
  const centre = (svc) => ({ x: svc.x + box / 2, y: svc.y + tall / 2 });
  const arrow = (a, b, label, waiting, id) => {
    svg.append(s("line", { x1: a.x + box / 2, y1: a.y, x2: b.x - box / 2 - 2, y2: b.y, stroke: "#444", "stroke-width": 3, "marker-end": "url(#head)" }));
    const mid = (a.x + b.x) / 2;
    svg.append(s("text", { x: mid, y: a.y - 26, "text-anchor": "middle" }, label));
    svg.append(s("text", { x: mid, y: a.y - 8, "text-anchor": "middle", id, "data-waiting": waiting, class: waiting ? "waiting" : "" }, `${fmt.int(waiting)} waiting`));
  };
  svg.append(s("defs", {}, s("marker", { id: "head", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" },
    s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#444" }))));
  const byName = Object.fromEntries(SERVICES.map((x) => [x.name, x]));
  const streamBacklog = (group, match) => (state.pipeline || []).filter((g) => g.group === group && g.stream.includes(match))
    .reduce((n, g) => n + g.lag + g.pending, 0);
  arrow(centre(byName.intake), centre(byName.triage), "submitted", streamBacklog("triage", "reports:submitted"), "edge-submitted");
  arrow(centre(byName.triage), centre(byName.router), "triaged", streamBacklog("router", "reports:triaged"), "edge-triaged");
  arrow(centre(byName.router), centre(byName.agencies), "inboxes", streamBacklog("agencies", ":inbox"), "edge-inboxes");
  const tracker = centre(byName.tracker);
  for (const name of ["intake", "triage", "router", "agencies"]) {  // the tracker reads every stage
    const c = centre(byName[name]);
    svg.append(s("line", { x1: c.x, y1: c.y + tall / 2, x2: tracker.x, y2: tracker.y - tall / 2, stroke: "#888", "stroke-width": 2, "stroke-dasharray": "5 4" }));
  }
  for (const svc of SERVICES) {
    const f = serviceFigures(svc, rates);
    const faults = faultsOn(svc.name);
    const down = faults.some((x) => x.kind === "kill") || (f.replicas === 0 && svc.name !== "intake");
    const g = s("g", { "data-service": svc.name, "data-backlog": f.backlog, "data-fault": faults.map((x) => x.kind).join(" "),
      class: "service" + (faults.length ? " faulty" : "") + (down ? " down" : "") });
    g.append(s("rect", { x: svc.x, y: svc.y, width: box, height: tall, rx: 8, fill: down ? "#eee" : "#fff",
      stroke: faults.length ? "#9b1c1c" : "#111", "stroke-width": faults.length ? 5 : 2, "stroke-dasharray": down ? "8 6" : "" }));
    g.append(s("text", { x: svc.x + 10, y: svc.y + 26, class: "name" }, svc.name + (f.replicas > 1 ? ` ×${f.replicas}` : "")));
    if (svc.name !== "intake") {
      g.append(s("text", { x: svc.x + 10, y: svc.y + 52 }, `${fmt.int(Math.round(f.rate))}/s read`));
      g.append(s("text", { x: svc.x + 10, y: svc.y + 74 }, `backlog ${fmt.int(f.backlog)} (${fmt.int(f.pending)} pending)`));
    } else {
      g.append(s("text", { x: svc.x + 10, y: svc.y + 52 }, "HTTP: JSON and XML"));
      g.append(s("text", { x: svc.x + 10, y: svc.y + 74 }, `${fmt.int(state.gap ? state.gap.submitted : null)} accepted`));
    }
    faults.forEach((x, i) => g.append(s("text", { x: svc.x + 10, y: svc.y + 98 + i * 18, class: "fault" },
      `⚠ ${x.kind}${x.kind === "kill" || x.kind === "pause" ? "" : " " + x.value}`)));
    if (down) g.append(s("text", { x: svc.x + box - 10, y: svc.y + 26, "text-anchor": "end", class: "fault" }, "DOWN"));
    svg.append(g);
  }
  // Redis, the agencies' and the ESPs' faults, the dead letters
  const redisDown = faultsOn("stack").length > 0;
  svg.append(s("g", { "data-service": "redis", "data-fault": redisDown ? "redis-down" : "", class: "service" + (redisDown ? " faulty down" : "") },
    s("rect", { x: 10, y: 280, width: 250, height: 60, rx: 8, fill: redisDown ? "#eee" : "#fff", stroke: redisDown ? "#9b1c1c" : "#111", "stroke-width": redisDown ? 5 : 2 }),
    s("text", { x: 20, y: 306, class: "name" }, "Redis" + (redisDown ? "  ⚠ DOWN" : "")),
    s("text", { x: 20, y: 328 }, "every stream, group and key")));
  const agencyFaults = (state.faults || []).filter((x) => x.kind === "capacity" || x.kind === "silent");
  agencyFaults.forEach((x, i) => svg.append(s("text", { x: 790, y: 195 + i * 18, class: "fault", "data-fault": `${x.kind}:${x.target}` },
    `⚠ ${x.target}: ${x.kind === "silent" ? "silent" : "capacity " + Math.round(x.value * 100) + "%"}`)));
  const espFaults = (state.faults || []).filter((x) => x.kind === "degrade");
  espFaults.forEach((x, i) => svg.append(s("text", { x: 10, y: 195 + i * 18, class: "fault", "data-fault": `${x.kind}:${x.target}` },
    `⚠ ${x.target} sends no ${x.value === 2 ? "verified contact" : x.value === 3 ? "location or contact" : "location"}`)));
  const dead = state.gap ? state.gap.deadLetters : 0;
  svg.append(s("g", { id: "dead-letters", "data-count": dead },
    s("rect", { x: 750, y: 280, width: 240, height: 60, rx: 8, fill: "#fff", stroke: dead ? "#9b1c1c" : "#111", "stroke-width": dead ? 4 : 2 }),
    s("text", { x: 760, y: 306, class: "name" }, `dead letters: ${fmt.int(dead)}`),
    s("text", { x: 760, y: 328 }, "tipline dlq list / replay")));
  return h("section", { id: "pipeline-view" }, h("h2", {}, "The pipeline, live"),
    h("p", { class: "muted" }, "Each box a service (×N: its live replicas), each arrow a stream with what waits on it; red: a fault in force."),
    svg);
}

// ---- the overview ----

const STAGES = [["submitted", "Submitted"], ["triaged", "Triaged"], ["routed", "Routed"],
  ["forwarded", "Cases forwarded"], ["acknowledged", "Acknowledged"], ["outcomeKnown", "Outcome known"]];

function perMinute(key) {
  const now = state.samples[state.samples.length - 1];
  const then = state.samples.find((x) => now.t - x.t <= 60000) || state.samples[0];
  const seconds = (now.t - then.t) / 1000;
  return seconds >= 2 ? Math.round(((now[key] - then[key]) / seconds) * 60) : null;
}

function tile(key, label, value, { alarm = false, rate = false } = {}) {
  const r = rate && state.samples.length > 1 ? perMinute(key) : null;
  return h("div", { class: "tile" + (alarm ? " alarm" : ""), "data-figure": key },
    h("div", { class: "value", id: `fig-${key}` }, fmt.int(value)),
    h("div", { class: "label" }, label),
    r == null ? "" : h("div", { class: "rate" }, `${fmt.int(r)} per minute`));
}

function overview() {
  const g = state.gap;
  const tiles = h("div", { class: "tiles" },
    ...STAGES.map(([k, l]) => tile(k, l, g[k], { rate: true })),
    tile("open", "Open: nobody knows yet", g.open.count),
    tile("dark", "Dark: past the SLA of their priority", g.dark, { alarm: g.dark > 0 }),
    tile("lostSight", `Lost sight: no outcome after ${g.lostSightDays} days`, g.lostSight, { alarm: g.lostSight > 0 }),
    tile("slaBreaches", "SLA breaches", g.slaBreaches),
    tile("unassigned", "Unassigned", g.unassigned),
    tile("deadLetters", "Dead letters", g.deadLetters, { alarm: g.deadLetters > 0 }));
  const oldest = h("p", {}, `Oldest open case: ${fmt.hours(g.open.oldestHours)} (simulated). Time to acknowledge: `,
    `p50 ${fmt.hours(g.timeToAck.p50)}, p90 ${fmt.hours(g.timeToAck.p90)}, p99 ${fmt.hours(g.timeToAck.p99)}. `,
    `Never acknowledged so far: ${fmt.pct(g.noAckShare)}.`);
  const backlog = (state.pipeline || []).filter((x) => x.lag || x.pending || !x.stream.endsWith(":inbox"));
  const maxB = Math.max(1, ...backlog.map((x) => x.lag + x.pending));
  const pipe = table("backlog", [
    { key: "group", label: "Consumer group", text: true, cell: (r) => r.group },
    { key: "stream", label: "Stream", text: true, cell: (r) => r.stream },
    { key: "lag", label: "Not yet read" }, { key: "pending", label: "Read, not done" },
    { key: "total", label: "Backlog", text: true, cell: (r) => h("span", {}, h("span", { class: "bar", style: `width:${(r.total / maxB) * 10}rem` }), ` ${fmt.int(r.total)}`) },
  ], backlog.map((x) => ({ ...x, total: x.lag + x.pending })));
  sorts.backlog = sorts.backlog || { key: "total", dir: -1 };
  return h("section", { id: "overview" }, h("h2", {}, "Overview"), tiles, oldest,
    h("h3", {}, "Stream backlog per consumer group"), pipe);
}

function agencies() {
  const rows = state.gap.byAgency.map((a) => ({ ...a, ackShare: a.forwarded ? a.acknowledged / a.forwarded : null,
    p50: a.timeToAck.p50, p90: a.timeToAck.p90 }));
  return h("section", { id: "agencies" }, h("h2", {}, "Agencies"),
    h("p", { class: "muted" }, "Click a column to sort; an agency's name opens its queue. ! marks dark cases."),
    table("agency-table", [
      { key: "name", label: "Agency", text: true, cell: (r) => h("a", { href: `/dashboard/agencies/${r.name}` }, r.name + (r.playedBy === "people" ? " (played by people)" : "")) },
      { key: "forwarded", label: "Forwarded" }, { key: "acknowledged", label: "Acknowledged" },
      { key: "ackShare", label: "Ack %", cell: (r) => fmt.pct(r.ackShare) },
      { key: "p50", label: "p50 to ack", cell: (r) => fmt.hours(r.p50) },
      { key: "p90", label: "p90 to ack", cell: (r) => fmt.hours(r.p90) },
      { key: "dark", label: "Dark", cls: (r) => (r.dark ? "dark" : ""), cell: (r) => (r.dark ? `${r.dark} !` : "0") },
      { key: "open", label: "Open" }, { key: "outcomeKnown", label: "Outcomes" },
      { key: "filesNeedingLegalProcess", label: "Files needing legal process" },
      { key: "preservationExpired", label: "Preservation expired", cls: (r) => (r.preservationExpired ? "dark" : ""),
        cell: (r) => (r.preservationExpired ? `${fmt.int(r.preservationExpired)} !` : "0") },
      { key: "noticesSent", label: "Notices acked / sent", cls: (r) => (r.noticesAcknowledged < r.noticesSent ? "warn" : ""),
        cell: (r) => `${fmt.int(r.noticesAcknowledged)} / ${fmt.int(r.noticesSent)}` },
    ], rows));
}

// ---- linked reports: the groups linking found, the splits across agencies, the preservation clock ----

function linking() {
  const l = state.gap.linking, p = state.gap.preservation;
  if (!l || !p) return "";  // a tracker from before linking
  const unacked = Math.max(0, l.noticesSent - l.noticesAcknowledged);
  const n = l.timeToNoticeAck;
  return h("section", { id: "linking" }, h("h2", {}, "Linked reports"),
    h("p", { class: "muted" }, "Reports of one person or account, linked by a prior report's id, an ESP account, an email, "
      + "a phone, a device or an IP address (compared as keyed hashes). A group split across agencies: each agency is told of the other's case."),
    h("div", { class: "tiles" },
      tile("groups", "Link groups (2 reports or more)", l.groups),
      tile("linkedReports", "Reports in them", l.linkedReports),
      tile("routedByGroup", "Routed by their group: no jurisdiction of their own", l.routedByGroup),
      tile("deconflictions", "Groups split across agencies: reports deconflicted", l.deconflictions),
      tile("noticesSent", "Deconfliction notices sent", l.noticesSent),
      tile("noticesAcknowledged", "Notices acknowledged", l.noticesAcknowledged)),
    h("p", { id: "notice-ack" }, `Time to acknowledge a notice (how long a split stays unknown to the agency told): `,
      `p50 ${fmt.hours(n.p50)}, p90 ${fmt.hours(n.p90)}, p99 ${fmt.hours(n.p99)}, over ${fmt.int(n.count)} notice(s). `,
      h("span", { class: unacked ? "warn" : "" }, `Not acknowledged yet: ${fmt.int(unacked)}.`)),
    h("h3", {}, "Preservation"),
    h("p", { id: "preservation-setting" }, `A platform preserves a report's content for ${fmt.int(p.days)} simulated days after submitting it; `,
      `an unacknowledged case is at risk within ${fmt.int(p.atRiskDays)} days of the end, and its agency is warned once.`),
    h("div", { class: "tiles" },
      tile("expiredBeforeAck", "Expired before acknowledgement", p.expiredBeforeAck, { alarm: p.expiredBeforeAck > 0 }),
      tile("atRisk", `At risk now: unacknowledged, ending within ${fmt.int(p.atRiskDays)} days`, p.atRisk, { alarm: p.atRisk > 0 }),
      tile("warnings", "Agencies warned", p.warnings)));
}

function histograms() {
  const figs = (state.hist || []).map((x) => {
    const labels = x.bounds.map((b) => (b == null ? "more" : `${b}`));
    const mark = x.slaHours == null ? null : x.bounds.findIndex((b) => b == null || b >= x.slaHours) + 1;
    return h("figure", { "data-lane": x.lane },
      h("figcaption", {}, `${x.lane === "all" ? "All cases" : "Lane " + x.lane}: p50 ${fmt.hours(x.p50)}, p90 ${fmt.hours(x.p90)}`,
        x.slaHours == null ? " — no SLA" : ` — SLA ${x.slaHours} h (dashed line)`),
      bars(x.counts, labels, { mark, markLabel: x.slaHours == null ? "" : `SLA ${x.slaHours} h` }),
      h("div", { class: "muted" }, "cases by simulated hours to acknowledgement (upper bound of each bar)"));
  });
  return h("section", { id: "ack" }, h("h2", {}, "Time to acknowledgement, by priority"), h("div", { class: "charts" }, figs));
}

const SERIES = [
  { key: "submitted", label: "reports submitted", color: "#444", dash: "2 3" },
  { key: "forwarded", label: "cases forwarded", color: "#1f4e8c" },
  { key: "acknowledged", label: "acknowledged", color: "#1d6b34", dash: "10 4" },
  { key: "newlyDark", label: "newly dark", color: "#9b1c1c", dash: "4 2" },
];

function seriesSection() {
  const legend = h("div", { class: "legend" }, SERIES.map((m) => h("span", {}, h("span", { style: `color:${m.color}` }, m.dash ? "╌╌ " : "── "), m.label)));
  return h("section", { id: "series" }, h("h2", {}, "The gap over time (per simulated hour)"), legend,
    state.series ? lines(state.series, SERIES) : h("p", {}, "…"));
}

function esps() {
  const rows = state.gap.byEsp.map((e) => ({ ...e, missing: e.mostMissing.map((m) => `${m.field} ${fmt.pct(m.share)}`).join(", ") }));
  return h("section", { id: "esps" }, h("h2", {}, "ESP data quality"),
    h("p", { class: "muted" }, "What each platform's reports give law enforcement to work with."),
    table("esp-table", [
      { key: "name", label: "ESP", text: true, cell: (r) => r.name },
      { key: "submitted", label: "Reports" },
      { key: "meanActionability", label: "Mean actionability", cell: (r) => (r.meanActionability == null ? "–" : r.meanActionability) },
      { key: "informationalShare", label: "Informational", cell: (r) => fmt.pct(r.informationalShare) },
      { key: "unassignedShare", label: "Unassigned", cell: (r) => fmt.pct(r.unassignedShare) },
      { key: "dark", label: "Dark", cls: (r) => (r.dark ? "dark" : "") },
      { key: "missing", label: "Most often missing", text: true, cell: (r) => r.missing || "–" },
    ], rows),
    h("div", { class: "charts" }, state.gap.byEsp.map((e) => h("figure", {}, h("figcaption", {}, `${e.name}: actionability scores`),
      bars(e.actionabilityBuckets, ["0-10", "11-20", "21-30", "31-40", "41-50", "51-60", "61-70", "71-80", "81-90", "91-100"], { height: 120 })))));
}

function unassigned() {
  const reasons = Object.entries(state.gap.unassignedReasons);
  const max = Math.max(1, ...reasons.map(([, n]) => n));
  return h("section", { id: "unassigned" }, h("h2", {}, "Unassigned, by reason"),
    table("reason-table", [
      { key: "reason", label: "Reason", text: true, cell: (r) => r.reason },
      { key: "count", label: "Reports", text: true, cell: (r) => h("span", {}, h("span", { class: "bar", style: `width:${(r.count / max) * 10}rem` }), ` ${r.count}`) },
    ], reasons.map(([reason, count]) => ({ reason, count }))),
    h("p", {}, `Offered to the federal partner: ${fmt.int(state.gap.offers.offered)}; taken (acknowledged): ${fmt.int(state.gap.offers.taken)}.`));
}

function dark() {
  const page = state.dark || { total: 0, cases: [] };
  sorts["dark-table"] = sorts["dark-table"] || { key: "waitingHours", dir: -1 };
  return h("section", { id: "dark" }, h("h2", {}, `Dark cases (${fmt.int(page.total)}), longest waiting first`),
    table("dark-table", [
      { key: "reportId", label: "Report", text: true, cell: (r) => h("a", { href: `/dashboard/reports/${r.reportId}` }, `report ${r.reportId}`) },
      { key: "agency", label: "Agency", text: true, cell: (r) => r.agency },
      { key: "lane", label: "Lane", text: true, cell: (r) => r.lane },
      { key: "why", label: "Why it went there", text: true, cell: (r) => r.why },
      { key: "waitingHours", label: "Waiting", cls: () => "dark", cell: (r) => fmt.hours(r.waitingHours) },
      { key: "slaBreaches", label: "Breaches" },
    ], page.cases));
}

function redraw() {
  if (!state.gap) return;
  const main = document.getElementById("main");
  main.replaceChildren(workshop(), pipelineView(), overview(), agencies(), linking(), histograms(), seriesSection(), esps(), unassigned(), dark());
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

let busy = false;
async function refresh() {
  if (busy) return;  // a slow answer: skip a beat rather than pile requests up
  busy = true;
  try {
    // every panel from the same moment, so that their numbers agree
    const [gap, pipeline, hist, series, darkPage, faults, clock, scenario] = await Promise.all([
      get("/v1/gap"), get("/v1/pipeline"), get("/v1/gap/histograms"), get("/v1/gap/series?hours=48"),
      get("/v1/gap/dark?limit=50"), get("/v1/faults"), get("/v1/clock"), get("/v1/scenario")]);
    Object.assign(state, { gap, pipeline, hist, series, dark: darkPage, faults, clock, scenario });
    state.groupSamples.push({ t: Date.now(), read: Object.fromEntries(pipeline.map((g) => [`${g.stream} ${g.group}`, g.entriesRead])) });
    state.groupSamples = state.groupSamples.filter((x) => Date.now() - x.t < 10000);
    state.samples.push({ t: Date.now(), ...Object.fromEntries(STAGES.map(([k]) => [k, gap[k]])) });
    state.samples = state.samples.filter((x) => Date.now() - x.t < 120000);
    redraw();
  } catch (e) {
    document.getElementById("updated").textContent = `not updated: ${e.message}`;
  } finally {
    busy = false;
  }
}

// ---- a report's timeline ----

async function report(id) {
  const main = document.getElementById("main");
  let t;
  try { t = await get(`/v1/reports/${id}`); } catch (e) { main.replaceChildren(h("p", { class: "error" }, `No report ${id} in the ledger.`)); return; }
  sorts["stage-table"] = sorts["stage-table"] || { key: "at", dir: 1 };
  document.getElementById("updated").textContent = `report ${id}, read ${new Date().toLocaleTimeString()}`;
  rerender = () => drawReport(t);
  rerender();
}

function drawReport(t) {
  const main = document.getElementById("main");
  const detail = (d) => Object.entries(d).filter(([k]) => k !== "reasons").map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
  main.replaceChildren(h("section", { id: "timeline" },
    h("h2", {}, `Report ${t.reportId}`),
    h("p", {}, `Lane ${t.lane}, priority ${t.priority}, ${t.disposition || "not triaged yet"}; ESP ${t.esp || "–"}; `,
      `actionability ${t.actionability == null ? "–" : t.actionability}; agency ${t.agency || "none"}; `,
      t.acknowledged ? h("span", { class: "ok" }, `acknowledged after ${fmt.hours(t.acknowledgedAfterHours)}`) : h("span", { class: "dark" }, "not acknowledged"),
      t.outcome ? `; outcome: ${t.outcome}` : "",
      t.preserveUntil ? `; content preserved until ${fmt.time(t.preserveUntil)}` : ""),
    linkedOf(t),
    h("h3", {}, "Every stage"),
    table("stage-table", [
      { key: "at", label: "When", text: true, cell: (r) => r.at.replace("T", " ").slice(0, 23) },
      { key: "stage", label: "Stage", text: true, cell: (r) => r.stage + (r.agency ? ` (${r.agency})` : "") },
      { key: "detail", label: "Detail", text: true, cell: (r) => detail(r.detail) },
    ], t.stages),
    h("h3", {}, "Handoffs"),
    table("handoff-table", [
      { key: "agency", label: "Agency", text: true, cell: (r) => h("a", { href: `/dashboard/agencies/${r.agency}` }, r.agency) },
      { key: "why", label: "Why", text: true, cell: (r) => r.why },
      { key: "acknowledgedAfterHours", label: "Acknowledged after", cell: (r) => fmt.hours(r.acknowledgedAfterHours) },
      { key: "dark", label: "Dark", text: true, cls: (r) => (r.dark ? "dark" : ""), cell: (r) => (r.dark ? "dark !" : "no") },
      { key: "slaBreaches", label: "SLA breaches" },
      { key: "renotified", label: "Re-notified", text: true, cell: (r) => (r.renotified ? "yes" : "no") },
      { key: "escalatedTo", label: "Escalated to", text: true, cell: (r) => r.escalatedTo || "–" },
      { key: "outcome", label: "Outcome", text: true, cell: (r) => r.outcome || "–" },
    ], t.handoffs)));
}

const linkOf = (x) => ({ reportId: x.reportId, agency: x.agency ?? null, bases: x.bases || [] });
const reportLink = (id) => h("a", { href: `/dashboard/reports/${id}` }, `report ${id}`);

function linkedOf(t) {
  const members = t.groupMembers || [], notices = t.notices || [];
  const links = Object.fromEntries((t.links || []).map(linkOf).map((x) => [x.reportId, x.bases]));
  if (!t.group && !notices.length) return h("p", { id: "group", class: "muted" }, "Linked to no other report.");
  sorts["member-table"] = sorts["member-table"] || { key: "reportId", dir: 1 };
  sorts["notice-table"] = sorts["notice-table"] || { key: "at", dir: 1 };
  return h("div", { id: "group" },
    h("h3", {}, `Linked reports: group ${t.group ?? "–"}, ${fmt.int(t.groupSize)} report(s)`),
    table("member-table", [
      { key: "reportId", label: "Report", text: true, cell: (r) => (r.reportId === t.reportId ? `report ${r.reportId} (this one)` : reportLink(r.reportId)) },
      { key: "agency", label: "Held by", text: true, cell: (r) => (r.agency ? h("a", { href: `/dashboard/agencies/${r.agency}` }, r.agency) : "nobody") },
      { key: "bases", label: "Bases of its link, found when this report was routed", text: true, cell: (r) => (r.bases ? r.bases.join(", ") : "–") },
    ], members.map((m) => ({ ...m, bases: links[m.reportId] || null }))),
    h("h3", {}, "Deconfliction notices"),
    notices.length ? table("notice-table", [
      { key: "agency", label: "Agency told", text: true, cell: (r) => r.agency },
      { key: "otherReport", label: "Of report", text: true, cell: (r) => reportLink(r.otherReport) },
      { key: "otherAgency", label: "Held by", text: true, cell: (r) => r.otherAgency },
      { key: "at", label: "When", text: true, cell: (r) => fmt.time(r.at) },
      { key: "acknowledgedAt", label: "Acknowledged", text: true, cls: (r) => (r.acknowledgedAt ? "" : "warn"),
        cell: (r) => (r.acknowledgedAt ? fmt.time(r.acknowledgedAt) : "not acknowledged") },
    ], notices) : h("p", { class: "muted" }, "None: the group is with one agency."));
}

// ---- an agency's queue ----

const QUEUES = { open: "open cases, in the order an investigator works them (priority, the day preservation ends, larger groups first)",
  acknowledged: "acknowledged cases, oldest first", all: "every case, oldest first" };

async function agency(id) {
  const main = document.getElementById("main");
  const wanted = new URLSearchParams(location.search).get("status");
  const status = Object.hasOwn(QUEUES, wanted || "") ? wanted : "open";
  let page;
  try { page = await get(`/v1/agencies/${id}/cases?status=${status}&limit=200`); } catch (e) { main.replaceChildren(h("p", { class: "error" }, `No agency ${id}.`)); return; }
  // the API's order first (its position, "#"); a click on a column sorts by it
  sorts["queue-table"] = sorts["queue-table"] || { key: "position", dir: 1 };
  document.getElementById("updated").textContent = `agency ${id}, read ${new Date().toLocaleTimeString()}`;
  const rows = page.cases.map((c, i) => ({ ...c, position: i + 1 + page.offset,
    noticeCount: c.deconfliction.length, legalNeeded: c.legalProcess ? 0 : c.filesNeedingLegalProcess,
    preservationLeft: c.preservationExpired ? -1 : c.preservationDaysLeft }));
  rerender = () => drawQueue(id, status, page, rows);
  rerender();
}

function linksCell(r) {
  if (!r.links.length) return r.groupSize > 1 ? `group ${r.group} of ${r.groupSize}` : "–";
  return h("div", { class: "lines" },
    r.groupSize > 1 ? h("div", { class: "muted" }, `group ${r.group} of ${r.groupSize}`) : "",
    r.links.map(linkOf).map((x) => h("div", { "data-link": x.reportId }, reportLink(x.reportId),
      ` held by ${x.agency || "nobody"} (${x.bases.join(", ")})`)));
}

function noticesCell(r) {
  if (!r.deconfliction.length) return "–";
  return h("div", { class: "lines" }, r.deconfliction.map((n) => h("div", { "data-notice": n.otherReport },
    reportLink(n.otherReport), ` at ${n.otherAgency}: `,
    n.acknowledged ? h("span", { class: "ok" }, "acknowledged") : h("span", { class: "warn" }, "not acknowledged"))));
}

function drawQueue(id, status, page, rows) {
  const main = document.getElementById("main");
  const views = h("p", { id: "queue-views" }, "Show: ", Object.keys(QUEUES).flatMap((k, i) => [i ? " · " : "",
    k === status ? h("strong", { "aria-current": "page" }, k) : h("a", { href: `/dashboard/agencies/${id}${k === "open" ? "" : "?status=" + k}` }, k)]));
  main.replaceChildren(h("section", { id: "queue", "data-status": status },
    h("h2", {}, `${id}: ${fmt.int(page.total)} ${QUEUES[status]}`), views,
    h("div", { class: "wide" }, table("queue-table", [
      { key: "position", label: "#", cell: (r) => r.position },
      { key: "reportId", label: "Report", text: true, cell: (r) => reportLink(r.reportId) },
      { key: "priority", label: "Priority (lane)", text: true, cell: (r) => `${r.priority ?? "–"} (${r.lane || "–"})` },
      { key: "handedAt", label: "Handed over", text: true, cell: (r) => fmt.time(r.handedAt) },
      { key: "why", label: "Why", text: true, cell: (r) => r.why },
      { key: "waitingHours", label: "Waiting", cls: (r) => (r.dark ? "dark" : ""), cell: (r) => (r.acknowledgedAt ? "–" : fmt.hours(r.waitingHours) + (r.dark ? " dark !" : "")) },
      { key: "acknowledgedAfterHours", label: "Acknowledged after", cell: (r) => fmt.hours(r.acknowledgedAfterHours) },
      { key: "outcome", label: "Outcome", text: true, cell: (r) => r.outcome || "–" },
      { key: "preservationLeft", label: "Preservation left", cls: (r) => "preservation" + (r.preservationExpired ? " dark" : ""),
        cell: (r) => (r.preservationExpired ? "expired !" : fmt.days(r.preservationDaysLeft)) },
      { key: "groupSize", label: "Linked reports", text: true, cls: () => "links", cell: linksCell },
      { key: "noticeCount", label: "Deconfliction", text: true, cls: () => "notices", cell: noticesCell },
      { key: "legalNeeded", label: "Legal process", text: true, cls: (r) => "legal" + (r.legalNeeded ? " warn" : ""),
        cell: (r) => (r.legalNeeded ? `${r.legalNeeded} file${r.legalNeeded > 1 ? "s" : ""} need${r.legalNeeded > 1 ? "" : "s"} legal process`
          : r.legalProcess ? "recorded" : "–") },
    ], rows, (r) => ({ "data-report": r.reportId })))));
}

// ---- projector mode: large type for a room (the button, or ?projector in the address) ----

function projector(on) {
  document.documentElement.classList.toggle("projector", on);
  localStorage.setItem("tipline-projector", on ? "1" : "");
  const button = document.getElementById("projector");
  if (button) button.textContent = on ? "Normal size" : "Projector";
}
projector(new URLSearchParams(location.search).has("projector") || localStorage.getItem("tipline-projector") === "1");
const toggle = document.getElementById("projector");
if (toggle) toggle.addEventListener("click", () => projector(!document.documentElement.classList.contains("projector")));

const route = location.pathname.match(/^\/dashboard\/(reports|agencies)\/([^/]+)$/);
if (route && route[1] === "reports") report(route[2]);
else if (route) agency(route[2]);
else { rerender = redraw; refresh(); setInterval(refresh, 1000); }
