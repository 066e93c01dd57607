// mmExpert dashboard: plain JavaScript, canvas drawing, no external code.
"use strict";

const main = document.getElementById("main");
let pageTimers = [];      // intervals and animation loops of the current page
let token = localStorage.getItem("mmexpertToken") || "";
let info = null;

// ------------------------------------------------------------------ helpers
function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "className") element.className = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function clearPage() {
  for (const stop of pageTimers) stop();
  pageTimers = [];
  main.replaceChildren();
}

function every(ms, fn) {
  const id = setInterval(fn, ms);
  pageTimers.push(() => clearInterval(id));
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (options.method && options.method !== "GET" && token) headers["X-MMExpert-Token"] = token;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { method: options.method || "GET", headers, body: options.body });
  let payload = null;
  try { payload = await response.json(); } catch (error) { payload = null; }
  if (!response.ok) {
    const message = (payload && (payload.error || payload.detail)) || response.statusText;
    throw new Error(typeof message === "string" ? message : JSON.stringify(message));
  }
  return payload;
}

function query(params) {
  return Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

function fmt(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(digits);
  return String(value);
}

function errorBox(error) { return h("p", { className: "error" }, String(error.message || error)); }

function kvTable(rows) {
  return h("table", { className: "kv" }, rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))));
}

function barRows(counts) {
  const max = Math.max(1, ...Object.values(counts));
  return h("table", {}, Object.entries(counts).map(([name, count]) => {
    const bar = h("div", { className: "bar" });
    bar.style.width = `${(100 * count) / max}%`;
    return h("tr", {}, h("td", {}, name), h("td", {}, h("div", { className: "barbox" }, bar)), h("td", {}, count));
  }));
}

// ------------------------------------------------------------------ colour maps
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const LUT = Array.from({ length: 256 }, (_, level) => {
  const x = (level / 255) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
});

function mapImage(map) {
  // levels: row-major [bins, frames], row 0 = lowest bin (drawn at the bottom)
  const canvas = document.createElement("canvas");
  canvas.width = map.frames;
  canvas.height = map.bins;
  const context = canvas.getContext("2d");
  const image = context.createImageData(map.frames, map.bins);
  for (let bin = 0; bin < map.bins; bin++) {
    const y = map.bins - 1 - bin;
    for (let frame = 0; frame < map.frames; frame++) {
      const colour = LUT[map.levels[bin * map.frames + frame]];
      const o = 4 * (y * map.frames + frame);
      image.data[o] = colour[0]; image.data[o + 1] = colour[1]; image.data[o + 2] = colour[2]; image.data[o + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

function drawMap(canvas, image, map, cursor, title) {
  const context = canvas.getContext("2d");
  const left = 48, bottom = 18, width = canvas.width - left - 6, height = canvas.height - bottom - 4;
  context.fillStyle = "#0f1420";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.imageSmoothingEnabled = false;
  context.drawImage(image, left, 4, width, height);
  context.fillStyle = "#c9d3e6";
  context.font = "11px sans-serif";
  if (map.axis) {
    context.fillText(fmt(map.axis.high, 2), 2, 14);
    context.fillText(fmt(map.axis.low, 2), 2, 4 + height);
  }
  context.fillText(title, left + 4, canvas.height - 4);
  if (cursor !== null) {
    const x = left + ((cursor + 0.5) / map.frames) * width;
    context.strokeStyle = "#ffffff";
    context.lineWidth = 2;
    context.beginPath(); context.moveTo(x, 4); context.lineTo(x, 4 + height); context.stroke();
  }
}

// ------------------------------------------------------------------ 3-D view
function makeScene(view) {
  // Orbit centre between the radar and the person; zoom so both fit in the canvas.
  const joints = view.skeleton ? view.skeleton.joints : [];
  const body = [];
  for (const frame of joints) for (const joint of frame) body.push(joint);
  for (const frame of view.points) for (const point of frame) body.push(point);
  const person = [0, 3, 0.9];
  if (body.length) for (let k = 0; k < 2; k++) person[k] = body.reduce((s, p) => s + p[k], 0) / body.length;
  const radar = view.radar_position_m;
  const centre = [(person[0] + radar[0]) / 2, (person[1] + radar[1]) / 2, 0.9];
  const reach = Math.max(2.0, Math.hypot(person[0] - radar[0], person[1] - radar[1]) / 2 + 1.0);
  return { centre, reach, yaw: -0.6, pitch: 0.45, scale: 1, auto: true };
}

function project(scene, point, canvas) {
  const dx = point[0] - scene.centre[0], dy = point[1] - scene.centre[1], dz = point[2] - scene.centre[2];
  const c = Math.cos(scene.yaw), s = Math.sin(scene.yaw);
  const x = c * dx - s * dy, depth = s * dx + c * dy;
  const cp = Math.cos(scene.pitch), sp = Math.sin(scene.pitch);
  const y = cp * dz - sp * depth, z = sp * dz + cp * depth;
  const distance = 3 * scene.reach, focal = 0.7 * Math.min(canvas.width, canvas.height) * distance / scene.reach * scene.scale;
  const w = focal / (distance + z);
  return [canvas.width / 2 + x * w, canvas.height / 2 - y * w];
}

function draw3d(canvas, view, scene, frame) {
  const context = canvas.getContext("2d");
  context.fillStyle = "#0f1420";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#2b3447";
  context.lineWidth = 1;
  const cx = Math.round(scene.centre[0]), cy = Math.round(scene.centre[1]), n = Math.ceil(scene.reach);
  for (let k = -n; k <= n; k++) {  // floor grid, 1 m
    let a = project(scene, [cx + k, cy - n, 0], canvas), b = project(scene, [cx + k, cy + n, 0], canvas);
    context.beginPath(); context.moveTo(...a); context.lineTo(...b); context.stroke();
    a = project(scene, [cx - n, cy + k, 0], canvas); b = project(scene, [cx + n, cy + k, 0], canvas);
    context.beginPath(); context.moveTo(...a); context.lineTo(...b); context.stroke();
  }
  const radar = project(scene, view.radar_position_m, canvas);
  context.fillStyle = "#ffb000";
  context.fillRect(radar[0] - 5, radar[1] - 5, 10, 10);
  context.fillText("radar", radar[0] + 7, radar[1]);
  if (view.skeleton) {
    const joints = view.skeleton.joints[frame];
    context.strokeStyle = "#e8edf7";
    context.lineWidth = 3;
    view.skeleton.parents.forEach((parent, joint) => {
      if (parent < 0) return;
      const a = project(scene, joints[joint], canvas), b = project(scene, joints[parent], canvas);
      context.beginPath(); context.moveTo(...a); context.lineTo(...b); context.stroke();
    });
    context.fillStyle = "#ffffff";
    for (const joint of joints) {
      const p = project(scene, joint, canvas);
      context.beginPath(); context.arc(p[0], p[1], 2.5, 0, 2 * Math.PI); context.fill();
    }
  }
  for (const point of view.points[frame] || []) {  // colour by radial velocity: red toward, blue away
    const p = project(scene, point, canvas);
    const v = Math.max(-1, Math.min(1, point[3] / 2));
    context.fillStyle = v < 0 ? `rgb(255,${Math.round(120 + 120 * (1 + v))},80)` : `rgb(80,${Math.round(160 + 80 * (1 - v))},255)`;
    context.beginPath(); context.arc(p[0], p[1], 4, 0, 2 * Math.PI); context.fill();
  }
  context.fillStyle = "#c9d3e6";
  context.font = "12px sans-serif";
  context.fillText(`t = ${fmt(view.times_s[frame], 3)} s   frame ${view.frames[frame]}   ${(view.points[frame] || []).length} points`, 8, 16);
}

// ------------------------------------------------------------------ pages
async function pageDatasets() {
  main.append(h("h1", {}, "Datasets"));
  const rows = await api("/api/datasets");
  if (!rows.length) { main.append(h("p", { className: "muted" }, "No dataset store under the data folder yet. Start a run on the Runs page.")); return; }
  main.append(h("div", { className: "grid", id: "dataset-list" }, rows.map((row) =>
    h("div", { className: "card dataset", onclick: () => go("dataset", { path: row.path }) },
      h("b", {}, row.path),
      row.error ? h("p", { className: "error" }, row.error) : [
        h("p", { className: "muted" }, `${row.n_samples} samples, version ${row.version}`),
        barRows(row.per_activity)]))));
}

async function pageDataset(params) {
  const d = await api(`/api/dataset?${query({ path: params.path })}`);
  main.append(h("h1", {}, `Dataset ${d.path}`));
  const radar = d.radar[0] || {};
  main.append(h("div", { className: "row" },
    h("div", { className: "panel" }, h("h2", {}, `Activities (${d.n_samples} samples)`), barRows(d.per_activity)),
    h("div", { className: "panel" }, h("h2", {}, "Radar"), radar.error ? errorBox(radar.error) : kvTable([
      ["preset", radar.name], ["start frequency [GHz]", fmt(radar.start_freq_hz / 1e9, 4)],
      ["slope [MHz/µs]", fmt(radar.slope_hz_per_s / 1e12, 4)], ["TX × RX", `${radar.num_tx} × ${radar.num_rx}`],
      ["samples × loops", `${radar.num_adc_samples} × ${radar.num_loops}`], ["frame rate [Hz]", fmt(radar.frame_rate_hz)],
      ["range resolution [cm]", fmt(radar.range_resolution_m * 100)], ["max range [m]", fmt(radar.max_range_m)],
      ["max velocity [m/s]", fmt(radar.max_velocity_mps)]])),
    h("div", { className: "panel" }, h("h2", {}, "Provenance"), kvTable([
      ["software", d.provenance.software_version.join(", ")], ["generator code", d.provenance.generator_code_hash.join(", ")],
      ["options", d.provenance.generator_options.join(", ")], ["size", `${fmt(d.sample_bytes / 1e6)} MB samples, ${fmt(d.manifest_bytes / 1e6)} MB manifest`],
      ["splits", Object.keys(d.splits).join(", ") || "none"],
      ["plan", d.plan_file ? h("a", { href: `#/plan?${query({ path: d.plan_file })}` }, d.plan_file) : "not beside the store"]]))));
  main.append(h("div", { className: "panel" }, h("h2", {}, "Samples"), h("table", { id: "sample-table" },
    h("tr", {}, ["sample", "activity", "frames", "points", "caption"].map((t) => h("th", {}, t))),
    d.samples.map((s) => h("tr", { className: "link", onclick: () => go("sample", { store: d.path, id: s.sample_id }) },
      h("td", {}, h("code", {}, s.sample_id)), h("td", {}, s.activity), h("td", {}, fmt(s.num_frames)), h("td", {}, fmt(s.num_points)), h("td", {}, s.caption))))));
}

async function pageSample(params) {
  const view = params.upload
    ? await api(`/api/upload?${query({ id: params.upload })}`)
    : await api(`/api/sample?${query({ store: params.store, sample_id: params.id })}`);
  const m = view.metadata;
  main.append(h("h1", {}, view.title || `Sample ${view.sample_id} · ${m.activity || ""}`),
    h("p", { className: "muted" }, view.store ? h("a", { href: `#/dataset?${query({ path: view.store })}` }, view.store) : h("a", { href: "#/playground" }, "playground"),
      ` · ${view.num_frames} frames at ${fmt(view.frame_rate_hz)} Hz · points in the ${view.points_frame} frame`));
  const space = h("canvas", { id: "space", width: 520, height: 460 });
  const maps = h("div", { className: "maps", id: "maps" });
  const slider = h("input", { type: "range", min: 0, max: view.times_s.length - 1, value: 0, id: "time-slider" });
  const play = h("button", { id: "play" }, "pause");
  const label = h("span", { className: "muted", id: "time-label" });
  main.append(h("div", { className: "controls" }, play, slider, label,
    h("span", { className: "muted" }, "drag the 3-D view to turn it")));
  main.append(h("div", { className: "row" }, h("div", {}, space, view.skeleton_error ? h("p", { className: view.store ? "error" : "muted" }, `skeleton: ${view.skeleton_error}`) : null), maps));
  const images = {};
  const canvases = {};
  for (const [name, map] of Object.entries(view.maps)) {
    images[name] = mapImage(map);
    canvases[name] = h("canvas", { id: `map-${name}`, width: 560, height: 140 });
    maps.append(h("div", { className: "maplabel" }, `${name.replace("_", " ")} — ${map.axis ? map.axis.label : "bins"}, ${fmt(map.floor_db, 3)}…${fmt(map.peak_db, 3)} dB`), canvases[name]);
  }
  const scene = makeScene(view);
  let frame = 0, playing = true, started = performance.now(), dragging = null;
  // Without a stored frame rate, times_s are frame indices: play them at 10 frames/s.
  const clockScale = view.frame_rate_hz ? 1 : 10;
  const duration = view.times_s[view.times_s.length - 1] + (view.frame_rate_hz ? 1 / view.frame_rate_hz : 1);
  const render = () => {
    draw3d(space, view, scene, frame);
    for (const name of Object.keys(view.maps)) drawMap(canvases[name], images[name], view.maps[name], frame, name.replace("_", " "));
    slider.value = frame;
    label.textContent = view.frame_rate_hz ? `t = ${fmt(view.times_s[frame], 3)} s` : `frame ${view.frames[frame]}`;
    space.dataset.frame = frame;
  };
  space.addEventListener("mousedown", (e) => { dragging = [e.clientX, e.clientY]; scene.auto = false; });
  window.addEventListener("mouseup", () => { dragging = null; });
  space.addEventListener("mousemove", (e) => {
    if (!dragging) return;
    scene.yaw += (e.clientX - dragging[0]) * 0.01; scene.pitch = Math.max(-0.2, Math.min(1.4, scene.pitch + (e.clientY - dragging[1]) * 0.01));
    dragging = [e.clientX, e.clientY]; render();
  });
  space.addEventListener("wheel", (e) => { e.preventDefault(); scene.scale *= e.deltaY < 0 ? 1.1 : 0.9; render(); });
  play.addEventListener("click", () => {
    playing = !playing; play.textContent = playing ? "pause" : "play";
    started = performance.now() - (view.times_s[frame] * 1000) / clockScale;
  });
  slider.addEventListener("input", () => { frame = Number(slider.value); playing = false; play.textContent = "play"; render(); });
  let handle = 0;
  const tick = (now) => {
    if (playing) {
      const t = (((now - started) / 1000) * clockScale) % duration;
      let index = 0;
      while (index + 1 < view.times_s.length && view.times_s[index + 1] <= t) index++;
      if (scene.auto) scene.yaw = -0.6 + 0.25 * Math.sin(now / 4000);
      if (index !== frame || scene.auto) { frame = index; render(); }
    }
    handle = requestAnimationFrame(tick);
  };
  render();
  handle = requestAnimationFrame(tick);
  pageTimers.push(() => cancelAnimationFrame(handle));

  if (!view.store) return;  // an upload: no captions, QA or motion program
  const program = m.motion_program || {};
  main.append(h("div", { className: "row" },
    h("div", { className: "panel" }, h("h2", {}, "Captions"), h("ul", { id: "captions" }, (m.captions || []).map((c) => h("li", {}, c))),
      m.description ? h("p", { className: "muted" }, `description: ${m.description}`) : null),
    h("div", { className: "panel" }, h("h2", {}, "Questions and answers"), h("table", {},
      (m.qa || []).map((qa) => h("tr", {}, h("td", {}, h("span", { className: "pill" }, qa.kind)), h("td", {}, qa.question), h("td", {}, h("b", {}, qa.answer)))))),
    h("div", { className: "panel" }, h("h2", {}, "Motion program"), h("table", {},
      h("tr", {}, h("th", {}, "primitive"), h("th", {}, "parameters"), h("th", {}, "duration [s]")),
      (program.segments || []).map((s) => h("tr", {}, h("td", {}, s.primitive), h("td", {}, h("code", {}, JSON.stringify(s.parameters))), h("td", {}, fmt(s.duration_s))))),
      h("p", { className: "muted" }, `subject ${JSON.stringify(program.subject || {})}`),
      h("p", { className: "muted" }, `placement ${JSON.stringify(program.placement || {})}`))));
  main.append(h("details", { className: "panel" }, h("summary", {}, "all metadata"), h("pre", {}, JSON.stringify(m, null, 1))));
}

async function pagePlans(params) {
  main.append(h("h1", {}, "Plans"));
  const plans = await api("/api/plans");
  if (!plans.length) main.append(h("p", { className: "muted" }, "No *plan*.json file under the data folder."));
  main.append(h("div", { className: "grid" }, plans.map((path) => h("div", { className: "card", onclick: () => go("plan", { path }) }, h("b", {}, path)))));
}

async function pagePlan(params) {
  const p = await api(`/api/plan?${query({ path: params.path })}`);
  main.append(h("h1", {}, `Plan ${p.path}`));
  main.append(h("div", { className: "panel" }, kvTable([["scenario", p.scenario || "(a bare sample list: no scenario saved)"], ["samples", p.count], ["seed", fmt(p.seed)], ["population", p.population || "–"],
    ["LLM", p.report ? `${p.report.backend}, ${p.report.llm_calls} calls, ${p.report.llm_failures.length} failures` : "–"],
    ["paraphrases kept", p.report ? p.report.paraphrases_kept : "–"]])));
  const row = h("div", { className: "row" });
  if (p.vocabulary) row.append(h("div", { className: "panel" }, h("h2", {}, "Vocabulary"), h("table", {},
    h("tr", {}, ["activity", "source", "primitives", "synonyms"].map((t) => h("th", {}, t))),
    p.vocabulary.activities.map((a) => h("tr", {}, h("td", {}, a.name), h("td", {}, a.source), h("td", {}, a.primitives.join(", ")), h("td", {}, a.synonyms.slice(0, 4).join(", "))))),
    p.vocabulary.unmatched.length ? h("p", { className: "muted" }, `unmatched: ${p.vocabulary.unmatched.map((u) => u.name).join(", ")}`) : null));
  if (p.strategies) row.append(h("div", { className: "panel" }, h("h2", {}, "Strategies"), h("table", {},
    h("tr", {}, h("th", {}, "strategy"), h("th", {}, "relevance"), h("th", {}, "weight")),
    p.strategies.map((s) => h("tr", {}, h("td", {}, s.name), h("td", {}, s.relevance), h("td", {}, fmt(s.weight)))))));
  row.append(h("div", { className: "panel" }, h("h2", {}, "Quotas"), p.subtasks ? h("table", {},
    h("tr", {}, h("th", {}, "activity"), h("th", {}, "strategy"), h("th", {}, "quota")),
    p.subtasks.map((s) => h("tr", {}, h("td", {}, s.activity), h("td", {}, s.strategy), h("td", {}, s.quota)))) : barRows(p.per_activity)));
  main.append(row);
  main.append(h("div", { className: "panel" }, h("h2", {}, "Descriptions"), h("table", {},
    h("tr", {}, ["activity", "description", "program", "captions"].map((t) => h("th", {}, t))),
    p.samples.map((s) => h("tr", {}, h("td", {}, s.activity), h("td", {}, s.description),
      h("td", {}, s.segments.map((g) => `${g.primitive} ${fmt(g.duration_s, 2)} s`).join(" → ")), h("td", {}, s.captions.join(" / ")))))));
}

function progressBar(fraction) {
  const bar = h("div", { className: "bar" });
  bar.style.width = `${Math.round(100 * (fraction || 0))}%`;
  return h("div", { className: "barbox" }, bar);
}

function lineChart(canvas, series, labels) {
  const context = canvas.getContext("2d");
  const left = 36, right = 10, top = 10, bottom = 24;
  const width = canvas.width - left - right, height = canvas.height - top - bottom;
  context.fillStyle = "#0f1420"; context.fillRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#2b3447"; context.fillStyle = "#c9d3e6"; context.font = "11px sans-serif";
  for (let k = 0; k <= 4; k++) {
    const y = top + height * (1 - k / 4);
    context.beginPath(); context.moveTo(left, y); context.lineTo(left + width, y); context.stroke();
    context.fillText((k / 4).toFixed(2), 2, y + 4);
  }
  const n = Math.max(1, labels.length - 1);
  labels.forEach((label, i) => context.fillText(`r${label}`, left + (width * i) / n - 6, canvas.height - 6));
  const colours = ["#7fb0ff", "#ffb000"];
  series.forEach(([name, values], s) => {
    context.strokeStyle = colours[s % 2]; context.fillStyle = colours[s % 2]; context.lineWidth = 2;
    context.beginPath();
    let started = false;
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const x = left + (width * i) / n, y = top + height * (1 - v);
      if (started) context.lineTo(x, y); else context.moveTo(x, y);
      started = true;
      context.fillRect(x - 3, y - 3, 6, 6);
    });
    context.stroke();
    context.fillText(name, left + 8 + 90 * s, top + 12);
  });
}

function confusionCanvas(evaluation) {
  const classes = evaluation.classes || [], matrix = evaluation.confusion || [];
  const cell = Math.max(18, Math.min(44, Math.floor(320 / Math.max(1, classes.length))));
  const margin = 110;
  const canvas = h("canvas", { width: margin + cell * classes.length + 4, height: margin + cell * classes.length + 4, className: "confusion" });
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff"; context.fillRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...matrix.flat());
  context.font = "11px sans-serif";
  classes.forEach((name, i) => {
    context.fillStyle = "#1d2330";
    context.fillText(name.slice(0, 16), 2, margin + i * cell + cell / 2 + 4);
    context.save(); context.translate(margin + i * cell + cell / 2 + 4, margin - 4); context.rotate(-Math.PI / 3);
    context.fillText(name.slice(0, 16), 0, 0); context.restore();
    (matrix[i] || []).forEach((count, j) => {
      const colour = LUT[Math.round((255 * count) / max)];
      context.fillStyle = `rgb(${colour.join(",")})`;
      context.fillRect(margin + j * cell, margin + i * cell, cell - 1, cell - 1);
      context.fillStyle = count / max > 0.6 ? "#000" : "#fff";
      context.fillText(String(count), margin + j * cell + 3, margin + i * cell + cell / 2 + 4);
    });
  });
  return canvas;
}

async function showFlywheel(target, path) {
  const f = await api(`/api/flywheel?${query({ path })}`);
  const chart = h("canvas", { width: 460, height: 220, id: "accuracy-chart" });
  target.replaceChildren(h("h2", {}, `Flywheel ${f.path}`),
    h("p", { className: "muted" }, `classes: ${f.classes.join(", ")} · stop: ${f.stop_reason || "running or not stopped"} · best round: ${fmt(f.best_round)}`),
    h("div", { className: "row" }, h("div", {}, h("div", { className: "maplabel" }, "accuracy per round (blue synthetic, orange real)"), chart),
      h("table", {}, h("tr", {}, ["round", "phases", "new", "total", "synthetic", "real", "weak", "revisions"].map((t) => h("th", {}, t))),
        f.rounds.map((r) => h("tr", {}, h("td", {}, r.round), h("td", {}, r.phases.join(", ")), h("td", {}, fmt(r.samples_new)), h("td", {}, fmt(r.samples_total)),
          h("td", {}, fmt(r.synthetic && r.synthetic.accuracy)), h("td", {}, r.real_error ? r.real_error : fmt(r.real && r.real.accuracy)),
          h("td", {}, r.weak.join(", ")), h("td", {}, r.revisions.map((v) => `${v.source}:${v.kind} ${v.activity}`).join("; ")))))),
    h("div", { className: "row" }, f.rounds.filter((r) => r.synthetic && r.synthetic.confusion).map((r) =>
      h("div", { className: "panel" }, h("div", { className: "maplabel" }, `round ${r.round} confusion (rows: true, columns: predicted)`), confusionCanvas(r.synthetic)))));
  lineChart(chart, [["synthetic", f.rounds.map((r) => r.synthetic && r.synthetic.accuracy)], ["real", f.rounds.map((r) => r.real && r.real.accuracy)]], f.rounds.map((r) => r.round));
}

// A Markdown subset (headings, lists, tables, images, `code`) as DOM text: never as HTML.
function inlineCode(text) {
  return text.split(/(`[^`]*`)/).map((part) => part.startsWith("`") && part.endsWith("`") && part.length > 1 ? h("code", {}, part.slice(1, -1)) : part);
}

function markdownNodes(markdown, folder) {
  const nodes = [];
  let table = null, list = null;
  for (const line of markdown.split("\n")) {
    const cells = line.trim().startsWith("|") ? line.trim().slice(1, -1).split("|").map((c) => c.trim()) : null;
    if (!cells) table = null;
    if (!line.startsWith("- ")) list = null;
    const image = line.match(/^!\[([^\]]*)\]\(([^)\s]+)\)\s*$/);
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    if (cells) {
      if (cells.every((c) => /^-+$/.test(c))) continue;
      if (!table) { table = h("table", { className: "report-table" }); nodes.push(table); table.append(h("tr", {}, cells.map((c) => h("th", {}, inlineCode(c))))); }
      else table.append(h("tr", {}, cells.map((c) => h("td", {}, inlineCode(c)))));
    } else if (image) {
      // Only figures beside the report (a bare file name) are loaded, through /api/file.
      const name = image[2];
      nodes.push(/^[\w.-]+\.png$/.test(name) ? h("img", { src: `/api/file?${query({ path: `${folder}/${name}` })}`, alt: image[1], className: "report-figure" }) : h("p", { className: "muted" }, `[${image[1]}: ${name}]`));
    } else if (heading) {
      nodes.push(h(`h${Math.min(4, heading[1].length + 1)}`, {}, inlineCode(heading[2])));
    } else if (line.startsWith("- ")) {
      if (!list) { list = h("ul", {}); nodes.push(list); }
      list.append(h("li", {}, inlineCode(line.slice(2))));
    } else if (line.trim()) nodes.push(h("p", {}, inlineCode(line)));
  }
  return nodes;
}

async function showReport(target, folder) {
  const report = await api(`/api/run-report?${query({ path: folder })}`);
  target.replaceChildren(h("p", { className: "muted" }, `${report.path}/report.md · `,
    h("a", { href: `/api/file?${query({ path: `${report.path}/report.md` })}`, target: "_blank" }, "as text"), " · ",
    h("a", { href: `/api/file?${query({ path: `${report.path}/results.json` })}`, target: "_blank" }, "results.json")),
  h("div", { className: "report" }, markdownNodes(report.markdown, report.path)));
}

async function pageRuns(params) {
  main.append(h("h1", {}, "Runs"));
  const form = h("form", { className: "stack panel", id: "run-form" },
    h("h2", {}, "New run"),
    h("div", { className: "row" },
      h("div", {}, h("label", {}, "kind"), h("select", { id: "kind" }, Object.entries(info.job_kinds).map(([k, d]) => h("option", { value: k }, `${k}: ${d}`)))),
      h("div", { "data-kinds": "flywheel" }, h("label", {}, "rounds"), h("input", { id: "rounds", type: "number", min: 1, max: 20, value: 3 })),
      h("div", { "data-kinds": "flywheel run" }, h("label", {}, "training epochs (per round)"), h("input", { id: "epochs", type: "number", min: 1, value: 8 })),
      h("div", { "data-kinds": "flywheel" }, h("label", {}, "clip length [s] (blank: whole program)"), h("input", { id: "clip_s", type: "number", min: 0.05, step: 0.05 })),
      h("div", { "data-kinds": "flywheel run" }, h("label", {}, "model time window [s]"), h("input", { id: "window_s", type: "number", min: 0.05, step: 0.05, value: 2 })),
      h("div", { "data-kinds": "run" }, h("label", {}, "models (training seeds, scored as an ensemble)"), h("input", { id: "ensemble", type: "number", min: 1, max: 5, value: 1 })),
      h("div", { "data-kinds": "run" }, h("label", {}, "feature alignment at test time (no labels)"), h("select", { id: "adapt" }, (info.adapt_methods || ["none"]).map((m) => h("option", { value: m }, m)))),
      h("div", { "data-kinds": "run" }, h("label", {}, "model (blank: the recipe's choice)"), h("select", { id: "model" }, h("option", { value: "" }, "—"), (info.models || []).map((m) => h("option", { value: m }, m)))),
      h("div", { "data-kinds": "run" }, h("label", {}, "run name (same name: resume that folder)"), h("input", { id: "run-name", placeholder: "fitness-a" }))),
    h("div", { className: "row", "data-kinds": "run" },
      h("div", {}, h("label", {}, "real data READER:DIR (DIR inside the data folder; optional)"), h("input", { id: "real", placeholder: "radhar:real/radhar" })),
      h("div", {}, h("label", {}, "classes folder=activity,… (optional)"), h("input", { id: "classes", placeholder: "jack=jumping jacks,squats=squats" }))),
    h("label", { for: "scenario" }, "scenario"),
    h("textarea", { id: "scenario", name: "scenario", placeholder: "five fitness exercises: boxing, jumping jacks, jumping, squats, walking" }),
    h("div", { className: "row" },
      h("div", {}, h("label", {}, "samples"), h("input", { id: "count", type: "number", min: 1, max: 2000, value: 8 })),
      h("div", {}, h("label", {}, "radar"), h("select", { id: "radar" }, info.radar_presets.map((p) => h("option", { value: p, selected: p === "iwr1843-udoppler" }, p)))),
      h("div", {}, h("label", {}, "LLM"), h("select", { id: "llm" }, info.llm_backends.map((b) => h("option", { value: b, selected: b === "local" }, b)))),
      h("div", {}, h("label", {}, "sentence encoder"), h("select", { id: "encoder" }, info.encoders.map((e) => h("option", { value: e, selected: e === "minilm" }, e)))),
      h("div", { "data-kinds": "generate run" }, h("label", {}, "frames per sample (blank: motion length)"), h("input", { id: "num_frames", type: "number", min: 1 })),
      h("div", {}, h("label", {}, "executor"), h("select", { id: "executor" }, h("option", { value: "process" }, "process"), h("option", { value: "serial" }, "serial")))),
    h("p", {}, h("button", { type: "submit", id: "start-run" }, "start run"), " ", h("span", { id: "run-message", className: "muted" },
      token ? "" : "set the token (top right) to start runs")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = document.getElementById("run-message");
    const value = (id) => document.getElementById(id).value;
    try {
      const kind = value("kind");
      const params = { scenario: value("scenario"), count: value("count"), radar: value("radar"), llm: value("llm"),
        encoder: value("encoder"), executor: value("executor") };
      if (kind === "flywheel") Object.assign(params, { rounds: value("rounds"), epochs: value("epochs"), clip_s: value("clip_s") || null, window_s: value("window_s") });
      else params.num_frames = value("num_frames") || null;
      if (kind === "run") Object.assign(params, { epochs: value("epochs"), window_s: value("window_s"), model: value("model") || null,
        ensemble: value("ensemble"), adapt: value("adapt"), name: value("run-name") || null, real: value("real") || null, classes: value("classes") || null });
      const job = await api("/api/jobs", { method: "POST", json: { kind, params } });
      message.textContent = `started ${job.id}`;
      message.className = "ok";
      refresh();
    } catch (error) { message.textContent = error.message; message.className = "error"; }
  });
  const kindSelect = form.querySelector("#kind");
  const showKind = () => {
    for (const e of form.querySelectorAll("[data-kinds]")) e.hidden = !e.dataset.kinds.split(" ").includes(kindSelect.value);
  };
  kindSelect.addEventListener("change", showKind);
  showKind();
  const list = h("div", { className: "panel", id: "job-list" });
  const detail = h("div", { className: "panel", id: "job-detail" }, h("p", { className: "muted" }, "click a run to see its log"));
  const flywheel = h("div", { className: "panel", id: "flywheel" });
  const reportPanel = h("div", { className: "panel", id: "run-report", hidden: true });
  main.append(form, list, detail, reportPanel, flywheel);
  let selected = params.job || null;
  let reportShown = null;  // the run folder whose report is on the page (loaded once)
  const post = async (path) => { try { await api(path, { method: "POST" }); refresh(); } catch (error) { alert(error.message); } };
  async function refresh() {
    const jobs = await api("/api/jobs");
    list.replaceChildren(h("h2", {}, "Runs"), jobs.length ? h("table", { id: "job-table" },
      h("tr", {}, ["run", "kind", "state", "progress", "message", ""].map((t) => h("th", {}, t))),
      jobs.map((job) => h("tr", { className: "link job-row", "data-state": job.state, "data-id": job.id, onclick: () => { selected = job.id; refresh(); } },
        h("td", {}, h("code", {}, job.id)), h("td", {}, job.kind), h("td", {}, h("span", { className: `pill state-${job.state}` }, job.state)),
        h("td", {}, progressBar(job.progress)), h("td", {}, job.message),
        h("td", {}, job.kind === "flywheel" ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); e.stopPropagation(); showFlywheel(flywheel, `${job.folder}/flywheel`).catch((error) => flywheel.replaceChildren(errorBox(error))); } }, "rounds") : null,
          job.state === "done" && job.result && job.result.store ? h("a", { href: `#/dataset?${query({ path: `${job.folder}/${job.result.store}` })}`, onclick: (e) => e.stopPropagation() }, "dataset") : null,
          job.state === "done" && job.result && job.result.report ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); e.stopPropagation(); selected = job.id; refresh(); } }, "report") : null,
          ["queued", "running"].includes(job.state) ? h("button", { className: "secondary cancel", disabled: job.cancel_requested, onclick: (e) => { e.stopPropagation(); post(`/api/jobs/${job.id}/cancel`); } }, job.cancel_requested ? "cancelling" : "cancel") : null,
          ["interrupted", "failed", "cancelled"].includes(job.state) ? h("button", { className: "secondary", onclick: (e) => { e.stopPropagation(); post(`/api/jobs/${job.id}/resume`); } }, "resume") : null))))
      : h("p", { className: "muted" }, "No run yet."));
    if (selected) {
      try {
        const job = await api(`/api/jobs/${selected}`);
        detail.replaceChildren(h("h2", {}, `Run ${job.id}`), kvTable([["scenario", job.params.scenario], ["parameters", h("code", {}, JSON.stringify(job.params))],
          ["state", job.state], ["folder", job.folder], ["error", job.error || "–"]]), h("pre", { id: "job-log" }, (job.log || []).join("\n")));
        if (job.kind === "flywheel") await showFlywheel(flywheel, `${job.folder}/flywheel`).catch(() => null);
        const folder = job.state === "done" && job.result && job.result.report ? job.result.run_folder : null;
        if (folder !== reportShown) {
          reportShown = folder;
          reportPanel.hidden = !folder;
          if (folder) await showReport(reportPanel, folder).catch((error) => reportPanel.replaceChildren(errorBox(error)));
        }
      } catch (error) { detail.replaceChildren(errorBox(error)); }
    }
  }
  await refresh();
  every(1000, refresh);
  const runs = await api("/api/flywheels");
  if (!runs.length) flywheel.replaceChildren(h("h2", {}, "Flywheel runs"), h("p", { className: "muted" }, "No flywheel run folder (flywheel.json) under the data folder."));
  else {
    flywheel.replaceChildren(h("h2", {}, "Flywheel runs (read-only)"), h("div", { className: "grid" }, runs.map((path) => h("div", { className: "card", onclick: () => showFlywheel(flywheel, path) }, path))));
    if (runs.length === 1) await showFlywheel(flywheel, runs[0]);
  }
}

async function pagePlayground() {
  main.append(h("h1", {}, "Model playground"));
  const [models, datasets, uploads] = await Promise.all([api("/api/models"), api("/api/datasets"), api("/api/uploads")]);
  const scorers = models.filter((m) => m.kind !== "radar_llm"), llms = models.filter((m) => m.kind === "radar_llm");
  const modelSelect = h("select", { id: "score-model" }, scorers.map((m) => h("option", { value: m.path }, `${m.path} (${m.kind})`)));
  const llmSelect = h("select", { id: "llm-model" }, llms.map((m) => h("option", { value: m.path }, m.path)));
  const storeSelect = h("select", { id: "source-store" }, h("option", { value: "" }, "— a dataset —"), datasets.filter((d) => !d.error).map((d) => h("option", { value: d.path }, d.path)));
  const sampleSelect = h("select", { id: "source-sample" });
  const uploadSelect = h("select", { id: "source-upload" }, h("option", { value: "" }, "— or an upload —"), uploads.map((u) => h("option", { value: u.id }, `${u.id} (${u.format || "?"})`)));
  const output = h("div", { className: "panel", id: "playground-output" }, h("p", { className: "muted" }, "results appear here"));
  storeSelect.addEventListener("change", async () => {
    sampleSelect.replaceChildren();
    if (!storeSelect.value) return;
    const d = await api(`/api/dataset?${query({ path: storeSelect.value })}`);
    for (const s of d.samples) sampleSelect.append(h("option", { value: s.sample_id }, `${s.sample_id} · ${s.activity}`));
  });
  const source = () => uploadSelect.value ? { upload: uploadSelect.value } : { store: storeSelect.value, sample_id: sampleSelect.value };
  const run = async (path, body, render) => {
    output.replaceChildren(h("p", { className: "muted" }, "running… (a model loads on first use)"));
    try { render(await api(path, { method: "POST", json: Object.assign(source(), body) })); } catch (error) { output.replaceChildren(errorBox(error)); }
  };
  const classes = h("input", { id: "classes", placeholder: "class names, comma-separated (default: the model's)" });
  const question = h("input", { id: "question", value: "What is the person doing?" });
  const fileInput = h("input", { type: "file", id: "upload-file", accept: info.upload_formats.join(",") });
  const uploadMessage = h("span", { className: "muted" }, `${info.upload_formats.join(" ")} up to ${fmt(info.max_upload_bytes / 1e6)} MB`);
  const uploadButton = h("button", { className: "secondary", type: "button", id: "upload-button", onclick: async () => {
    if (!fileInput.files.length) return;
    const body = new FormData(); body.append("file", fileInput.files[0]);
    try {
      const saved = await api("/api/uploads", { method: "POST", body });
      uploadSelect.append(h("option", { value: saved.id, selected: true }, `${saved.id} (${saved.format})`));
      uploadMessage.replaceChildren(`kept ${saved.id}: ${saved.frames} frames, ${saved.points} points · `, h("a", { href: `#/sample?${query({ upload: saved.id })}` }, "view"));
      uploadMessage.className = "ok";
    } catch (error) { uploadMessage.textContent = error.message; uploadMessage.className = "error"; }
  } }, "upload");
  main.append(h("div", { className: "row" },
    h("div", { className: "panel stack" }, h("h2", {}, "Input"), h("p", {}, storeSelect, " ", sampleSelect), h("p", {}, uploadSelect, " ",
      h("a", { href: "#", id: "view-upload", onclick: (e) => { e.preventDefault(); if (uploadSelect.value) go("sample", { upload: uploadSelect.value }); } }, "view upload")),
      h("p", {}, fileInput, uploadButton), h("p", {}, uploadMessage)),
    h("div", { className: "panel" }, h("h2", {}, "Zero-shot / classifier"), scorers.length ? [h("p", {}, modelSelect), h("p", {}, classes),
      h("button", { id: "predict", onclick: () => run("/api/predict", { model: modelSelect.value, classes: classes.value ? classes.value.split(",").map((c) => c.trim()).filter(Boolean) : null }, (r) =>
        output.replaceChildren(h("h2", {}, `prediction: ${r.prediction}`), r.truth ? h("p", { className: "muted" }, `stored activity: ${r.truth}`) : null,
          h("table", { className: "scores" }, Object.entries(r.scores).map(([name, score]) => h("tr", {}, h("td", {}, name), h("td", {}, progressBar(Math.max(0, score))), h("td", {}, fmt(score))))))) }, "predict")]
      : h("p", { className: "muted" }, "No CLIP or classifier model folder under the data folder (train one with `mmexpert train`).")),
    h("div", { className: "panel" }, h("h2", {}, "Radar LLM"), llms.length ? [h("p", {}, llmSelect),
      h("button", { id: "caption", onclick: () => run("/api/caption", { model: llmSelect.value }, (r) => output.replaceChildren(h("h2", {}, "caption"), h("p", { id: "caption-text" }, r.text),
        r.captions.length ? h("p", { className: "muted" }, `reference: ${r.captions[0]}`) : null)) }, "caption"),
      h("p", {}, question), h("button", { id: "ask", onclick: () => run("/api/ask", { model: llmSelect.value, question: question.value }, (r) => output.replaceChildren(h("h2", {}, question.value), h("p", { id: "answer-text" }, r.text))) }, "ask")]
      : h("p", { className: "muted" }, "No radar LLM folder under the data folder (train one with `mmexpert train llm`)."))));
  main.append(output);
}

// ------------------------------------------------------------------ routing
const PAGES = { datasets: pageDatasets, dataset: pageDataset, sample: pageSample, plans: pagePlans, plan: pagePlan, runs: pageRuns, playground: pagePlayground };

function go(page, params) { location.hash = `#/${page}${params ? `?${query(params)}` : ""}`; }

async function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash.startsWith("token=")) {
    token = decodeURIComponent(hash.slice(6));
    localStorage.setItem("mmexpertToken", token);
    history.replaceState(null, "", "#/datasets");
    await checkToken();
    return route();
  }
  const [name, search] = hash.split("?");
  const page = PAGES[name] ? name : "datasets";
  const params = Object.fromEntries(new URLSearchParams(search || ""));
  for (const link of document.querySelectorAll("header nav a")) {
    const section = { dataset: "datasets", sample: "datasets", plan: "plans" }[page] || page;
    link.classList.toggle("active", link.dataset.page === section);
  }
  clearPage();
  try { await PAGES[page](params); } catch (error) { main.append(errorBox(error)); }
}

async function checkToken() {
  const status = document.getElementById("token-status");
  if (!token) { status.textContent = "read-only"; status.className = "muted"; return; }
  try { await api("/api/token", { method: "POST" }); status.textContent = "token ok"; status.className = "ok"; }
  catch (error) { status.textContent = "wrong token"; status.className = "error"; }
}

document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  token = document.getElementById("token-input").value.trim();
  localStorage.setItem("mmexpertToken", token);
  document.getElementById("token-input").value = "";
  await checkToken();
});

window.addEventListener("hashchange", route);
(async () => {
  info = await api("/api/info");
  document.getElementById("footer").textContent = `mmExpert ${info.version} · data folder ${info.data_folder} · read-only browsing is open; runs, uploads and models need the token`;
  await checkToken();
  await route();
})();
