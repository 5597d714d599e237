// The self-contained HTML report (see html_report.hpp).

#include "html_report.hpp"

#include <fstream>
#include <stdexcept>

namespace brigade::app {

namespace {

const char* const style = R"CSS(
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccd; }
h3 { font-size: 15px; margin: 18px 0 4px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { padding: 3px 10px; border-bottom: 1px solid #e3e6ee; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 18px; height: 10px; margin-right: 4px; vertical-align: middle; }
.note { color: #667; font-size: 12px; }
svg text { font: 11px system-ui, sans-serif; fill: #1d2330; }
)CSS";

// Draws DATA (see write_html_report). Kinds follow trace_event::kind.
const char* const script = R"JS(
'use strict';
let failed = false;
window.onerror = function (msg) { failed = true; document.title = 'error: ' + msg; };
const NS = 'http://www.w3.org/2000/svg';
const KIND = { run: 0, park: 1, blocking: 2, user: 3, spawn: 4, wake: 5, steal: 6 };
function el(tag, attrs, parent, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function fmtMs(us) { const ms = us / 1000; return ms >= 100 ? ms.toFixed(0) + ' ms' : ms >= 1 ? ms.toFixed(1) + ' ms' : us.toFixed(0) + ' µs'; }
function fmtVal(v, unit) {
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s + ' ' + unit;
}
function taskColor(t) { return 'hsl(' + ((t * 67) % 360) + ',62%,52%)'; }
function niceStep(span) {
  const raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function drawTable(t, parent) {
  const table = el('table', {}, parent);
  const head = el('tr', {}, el('thead', {}, table));
  for (const h of t.header) el('th', {}, head, h);
  const body = el('tbody', {}, table);
  for (const r of t.rows) { const tr = el('tr', {}, body); for (const c of r) el('td', {}, tr, c); }
}
function drawChart(c, parent) {
  el('h3', {}, parent, c.title);
  const max = Math.max(1e-9, ...c.bars.map(b => b[1]));
  const rowH = 22, labelW = 260, barW = 700;
  const svg = el('svg:svg', { width: labelW + barW + 120, height: c.bars.length * rowH + 6 }, parent);
  c.bars.forEach((b, i) => {
    const y = i * rowH + 3, w = Math.max(1, barW * b[1] / max);
    el('svg:text', { x: 0, y: y + 14 }, svg, b[0]);
    const r = el('svg:rect', { x: labelW, y: y, width: w, height: rowH - 6, fill: 'hsl(' + (210 + i * 40) % 360 + ',55%,55%)' }, svg);
    el('svg:title', {}, r, b[0] + ': ' + fmtVal(b[1], c.unit));
    el('svg:text', { x: labelW + w + 6, y: y + 14 }, svg, fmtVal(b[1], c.unit));
  });
}
function drawTimeline(tl, parent) {
  el('h3', {}, parent, tl.title);
  const ev = tl.ev.map(e => ({ k: e[0], l: e[1], t: e[2], o: e[3], s: e[4], e: e[5], n: tl.names[e[6]], w: e[7] >= 0 ? tl.names[e[7]] : '' }));
  let end = 1;
  for (const e of ev) end = Math.max(end, e.e);
  // The dash of a waiting line says what the task waits on (waits_on).
  const waitDash = w => /^(sleep|timer)/.test(w) ? '1 3'
    : /^(mutex|shared_mutex|semaphore|barrier|latch|notify)/.test(w) ? '6 3'
    : /^(read|write|I\/O)/.test(w) ? '8 2 2 2' : '3 3';
  // Tasks: their turns (run spans) in order of first appearance.
  const tasks = new Map();
  for (const e of ev) {
    if (e.k !== KIND.run || e.t === 0) continue;
    if (!tasks.has(e.t)) tasks.set(e.t, { name: e.n, turns: [] });
    tasks.get(e.t).turns.push(e);
  }
  const maxLanes = 24, maxTasks = 30;
  const lanes = tl.lanes.slice(0, maxLanes);
  const taskRows = [...tasks.entries()].slice(0, maxTasks);
  const labelW = 150, plotW = 1060, laneH = 22, axisH = 22, gap = 26;
  const height = axisH + lanes.length * laneH + gap + taskRows.length * 16 + 10;
  const svg = el('svg:svg', { width: labelW + plotW + 10, height: height }, parent);
  const x = us => labelW + plotW * us / end;
  const step = niceStep(end);
  for (let t = 0; t <= end; t += step) {
    el('svg:line', { x1: x(t), x2: x(t), y1: axisH - 4, y2: height, stroke: '#eef0f5' }, svg);
    el('svg:text', { x: x(t) + 2, y: 12 }, svg, fmtMs(t));
  }
  lanes.forEach((name, i) => el('svg:text', { x: 0, y: axisH + i * laneH + 14 }, svg, name));
  for (const e of ev) {
    if (e.l >= lanes.length) continue;
    const y = axisH + e.l * laneH;
    const w = Math.max(0.8, x(e.e) - x(e.s));
    let shape = null;
    if (e.k === KIND.run) {
      shape = el('svg:rect', { x: x(e.s), y: y + 2, width: w, height: 16, fill: taskColor(e.t) }, svg);
    } else if (e.k === KIND.park) {
      shape = el('svg:rect', { x: x(e.s), y: y + 8, width: w, height: 4, fill: '#b8bcc6' }, svg);
    } else if (e.k === KIND.blocking) {
      shape = el('svg:rect', { x: x(e.s), y: y + 2, width: w, height: 16, fill: '#e8a33d', stroke: '#a86a10' }, svg);
    } else if (e.k === KIND.user) {
      shape = el('svg:rect', { x: x(e.s), y: y, width: w, height: 3, fill: '#1d2330' }, svg);
    } else if (e.k === KIND.spawn) {
      const px = x(e.s);
      shape = el('svg:path', { d: 'M' + px + ' ' + (y + 21) + 'l-3 -5h6z', fill: '#2a7a2a' }, svg);
    } else if (e.k === KIND.wake) {
      shape = el('svg:circle', { cx: x(e.s), cy: y + 19, r: 2, fill: '#c0392b' }, svg);
    } else if (e.k === KIND.steal) {
      const px = x(e.s);
      shape = el('svg:path', { d: 'M' + px + ' ' + (y + 15) + 'l3 3l-3 3l-3 -3z', fill: '#7d3cc0' }, svg);
    }
    if (shape) {
      const what = ['turn of', 'parked', 'blocking job', 'span', 'spawn of', 'wake of', 'steal'][e.k];
      el('svg:title', {}, shape, what + ' ' + (e.n || '') + (e.e > e.s ? ' — ' + fmtMs(e.e - e.s) : ' at ' + fmtMs(e.s)) + (e.w ? ', then waits on ' + e.w : ''));
    }
  }
  const top = axisH + lanes.length * laneH + gap;
  el('svg:text', { x: 0, y: top - 8 }, svg, 'tasks: turns ▬, waiting on a timer ·····, a lock ━ ━, a channel - - -, I/O ━ · ━, other - - -');
  taskRows.forEach(([id, task], i) => {
    const y = top + i * 16;
    el('svg:text', { x: 0, y: y + 11 }, svg, (task.name || 'task ' + id).slice(0, 22));
    let prev = null, prevWait = '';
    for (const turn of task.turns) {
      if (prev !== null && turn.s > prev) {
        const line = el('svg:line', { x1: x(prev), x2: x(turn.s), y1: y + 6, y2: y + 6, stroke: taskColor(id), 'stroke-dasharray': waitDash(prevWait) }, svg);
        el('svg:title', {}, line, (task.name || '') + ' waiting ' + fmtMs(turn.s - prev) + (prevWait ? ' on ' + prevWait : ''));
      }
      prevWait = turn.w;
      const r = el('svg:rect', { x: x(turn.s), y: y, width: Math.max(0.8, x(turn.e) - x(turn.s)), height: 12, fill: taskColor(id) }, svg);
      el('svg:title', {}, r, (task.name || '') + ' on ' + tl.lanes[turn.l] + ' — ' + fmtMs(turn.e - turn.s));
      prev = turn.e;
    }
  });
  const notes = [];
  if (tl.lanes.length > maxLanes) notes.push((tl.lanes.length - maxLanes) + ' more lanes not drawn');
  if (tasks.size > maxTasks) notes.push((tasks.size - maxTasks) + ' more tasks not drawn');
  if (tl.cut > 0) notes.push(tl.cut + ' later events not drawn');
  if (tl.dropped > 0) notes.push(tl.dropped + ' events dropped by the trace buffer');
  if (notes.length) el('div', { class: 'note' }, parent, notes.join('; '));
}
function legend(parent) {
  const d = el('div', { class: 'legend' }, parent);
  const items = [['hsl(67,62%,52%)', 'a task turn (colour = task)'], ['#b8bcc6', 'parked / blocked thread'],
    ['#e8a33d', 'blocking-pool job'], ['#1d2330', 'user span (trace_span)'], ['#2a7a2a', '▲ spawn'],
    ['#c0392b', '● wake'], ['#7d3cc0', '◆ steal']];
  for (const [c, t] of items) { const s = el('span', {}, d); el('i', { style: 'background:' + c }, s); s.appendChild(document.createTextNode(t)); }
}
function main() {
  const data = JSON.parse(document.getElementById('data').textContent);
  const root = document.getElementById('root');
  el('h1', {}, root, data.title);
  el('p', {}, root, data.intro);
  // "#only=N" draws section N alone, "#timelines" its timelines alone (for
  // screenshots of one scenario).
  const only = /only=(\d+)/.exec(location.hash);
  const timelinesOnly = /timelines/.test(location.hash);
  data.sections.forEach((s, i) => {
    if (only && Number(only[1]) !== i) return;
    el('h2', {}, root, s.heading);
    if (s.text && !timelinesOnly) el('p', {}, root, s.text);
    if (!timelinesOnly) for (const t of s.tables) drawTable(t, root);
    if (!timelinesOnly) for (const c of s.charts) drawChart(c, root);
    if (s.timelines.length) legend(root);
    for (const tl of s.timelines) drawTimeline(tl, root);
  });
  if (!failed) document.title = 'ok';
}
try { main(); } catch (e) { failed = true; document.title = 'error: ' + e; throw e; }
)JS";

std::string strings_json(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += json_string(v[i]);
  }
  return out + "]";
}

std::string section_json(const html_section& s) {
  std::string out = "{\"heading\":" + json_string(s.heading) + ",\"text\":" + json_string(s.text);
  out += ",\"tables\":[";
  for (std::size_t i = 0; i < s.tables.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"header\":" + strings_json(s.tables[i].header) + ",\"rows\":[";
    for (std::size_t r = 0; r < s.tables[i].rows.size(); ++r) {
      if (r > 0) out += ',';
      out += strings_json(s.tables[i].rows[r]);
    }
    out += "]}";
  }
  out += "],\"charts\":[";
  for (std::size_t i = 0; i < s.charts.size(); ++i) {
    const html_bar_chart& c = s.charts[i];
    if (i > 0) out += ',';
    out +=
        "{\"title\":" + json_string(c.title) + ",\"unit\":" + json_string(c.unit) + ",\"bars\":[";
    for (std::size_t b = 0; b < c.bars.size(); ++b) {
      if (b > 0) out += ',';
      const double v = c.bars[b].second;
      out += "[" + json_string(c.bars[b].first) + "," + std::to_string(v == v ? v : 0.0) + "]";
    }
    out += "]}";
  }
  out += "],\"timelines\":[";
  for (std::size_t i = 0; i < s.timelines.size(); ++i) {
    if (i > 0) out += ',';
    out += s.timelines[i];
  }
  return out + "]}";
}

}  // namespace

void write_html_report(const std::string& path, const std::string& title, const std::string& intro,
                       const std::vector<html_section>& sections) {
  std::string data =
      "{\"title\":" + json_string(title) + ",\"intro\":" + json_string(intro) + ",\"sections\":[";
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (i > 0) data += ',';
    data += section_json(sections[i]);
  }
  data += "]}";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
         "charset=\"utf-8\">\n<title>loading</title>\n"
      << "<style>" << style << "</style></head>\n<body><div id=\"root\"></div>\n"
      << "<script type=\"application/json\" id=\"data\">" << data << "</script>\n"
      << "<script>" << script << "</script>\n</body></html>\n";
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace brigade::app
