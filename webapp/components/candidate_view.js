// The review page's candidate: every panel of one candidate drawn at once, and the keyboard.
//
// Python sends one payload per candidate (images as PNG data addresses, y up)
// plus the payloads of the next queue entry and of the candidates seen before
// and after it. Panels are filled from one payload in one step, so the screen
// never mixes two candidates. Keys are read at the document level (capture
// phase): whatever widget had focus, a shortcut is taken, the widget loses
// focus and the key never types into it. Only the comment box keeps its keys
// (Escape leaves it). A key that cannot be taken says so in the toast.

const ACTION_KEYS = { "1": "1", "2": "2", "3": "3", "4": "4", u: "unsure", s: "skip", z: "undo", f: "flag" };
const HELP = [
  ["1 2 3 4", "label: symmetric, asymmetric, association, non-cluster"],
  ["u", "unsure"],
  ["s", "skip (comes back next session)"],
  ["z", "undo your last label"],
  ["f", "flag this candidate (stored with its label; 'flagged' queue filter)"],
  ["\u2190 / \u2192", "back / forward through the candidates seen this session"],
  ["b", "blink: composite, NUV, U, B, V, I in place (shift+b backwards)"],
  ["+ or click", "zoom the stamp; Esc closes"],
  ["c", "centre marker: crosshair, 4 px aperture, none"],
  ["?", "this help"],
];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function build(root) {
  root.innerHTML = "";
  const parts = {};
  parts.head = el("div", "cv-head");
  parts.title = el("span", "cv-title");
  parts.sub = el("span", "cv-sub");
  parts.flag = el("span", "cv-flag", "\u2691 flagged");
  parts.progress = el("span", "cv-progress");
  parts.head.append(parts.title, parts.sub, parts.flag, parts.progress);
  parts.note = el("div", "cv-note");
  const top = el("div", "cv-top");
  // composite (blink cycles it through the bands) with marker, compass and scale bar
  parts.mainBox = el("figure", "cv-main");
  parts.mainImg = el("img", "cv-px");
  parts.mainImg.alt = "composite";
  parts.mainSvg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  parts.mainSvg.setAttribute("class", "cv-overlay");
  parts.mainCap = el("figcaption", "cv-cap");
  parts.mainBox.append(parts.mainImg, parts.mainSvg, parts.mainCap);
  parts.contourBox = el("figure", "cv-panel");
  parts.contour = el("div", "cv-contour");
  parts.contourCap = el("figcaption", "cv-cap", "V contours (2 sigma to peak, log)");
  parts.contourBox.append(parts.contour, parts.contourCap);
  parts.surfaceBox = el("figure", "cv-panel");
  parts.surface = el("img", "cv-surface");
  parts.surface.alt = "V band in 3D";
  parts.surfaceBox.append(parts.surface, el("figcaption", "cv-cap", "V band in 3D (seen from below)"));
  const side = el("div", "cv-side");
  parts.contextBox = el("figure", "cv-context");
  parts.contextImg = el("img", "cv-px");
  parts.contextImg.alt = "context";
  parts.contextSvg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  parts.contextSvg.setAttribute("class", "cv-overlay");
  parts.contextCap = el("figcaption", "cv-cap");
  parts.contextBox.append(parts.contextImg, parts.contextSvg, parts.contextCap);
  parts.mapBox = el("figure", "cv-map");
  parts.mapImg = el("img", "cv-mapimg");
  parts.mapImg.alt = "field";
  parts.mapSvg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  parts.mapSvg.setAttribute("class", "cv-overlay");
  parts.mapBox.append(parts.mapImg, parts.mapSvg);
  side.append(parts.contextBox, parts.mapBox);
  parts.info = el("div", "cv-info");
  parts.scores = el("div", "cv-scores");
  parts.lines = el("div", "cv-lines");
  parts.info.append(parts.scores, parts.lines);
  top.append(parts.mainBox, parts.contourBox, parts.surfaceBox, side);
  parts.strip = el("div", "cv-strip");
  parts.toast = el("div", "cv-toast");
  parts.zoom = el("div", "cv-zoom");
  parts.zoomImg = el("img", "cv-px");
  parts.zoomCap = el("div", "cv-cap");
  parts.zoom.append(parts.zoomImg, parts.zoomCap);
  parts.help = el("div", "cv-help");
  const table = el("table");
  for (const [keys, what] of HELP) {
    const row = el("tr");
    row.append(el("th", "", keys), el("td", "", what));
    table.append(row);
  }
  parts.help.append(el("div", "cv-help-title", "Keyboard (works whatever had focus; Esc closes)"), table);
  root.append(parts.head, parts.note, parts.info, top, parts.strip, parts.toast, parts.zoom, parts.help);
  return parts;
}

function svgNode(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// Overlays in stamp pixels (y up): view box 0..side, so they scale with the image.
function drawMarker(svg, side, marker, apertureRadius) {
  const c = side / 2;
  if (marker === "crosshair") {
    const gap = Math.max(1.5, side * 0.06), arm = Math.max(3, side * 0.16);
    for (const [x1, y1, x2, y2] of [
      [c - gap - arm, c, c - gap, c], [c + gap, c, c + gap + arm, c],
      [c, c - gap - arm, c, c - gap], [c, c + gap, c, c + gap + arm],
    ]) svg.append(svgNode("line", { x1, y1, x2, y2, class: "cv-mark" }));
  } else if (marker === "aperture") {
    svg.append(svgNode("circle", { cx: c, cy: c, r: apertureRadius, class: "cv-mark" }));
  }
}

function drawMain(parts, data, marker) {
  const svg = parts.mainSvg;
  const side = data.side;
  svg.innerHTML = "";
  svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
  drawMarker(svg, side, marker, data.aperture_px);
  if (data.compass) {
    // north and east arrows from the WCS, in the top-left corner (SVG y grows down: flip dy)
    const ox = side * 0.16, oy = side * 0.16, len = side * 0.11;
    for (const [name, [dx, dy]] of [["N", data.compass.north], ["E", data.compass.east]]) {
      const x2 = ox + dx * len, y2 = oy - dy * len;
      svg.append(svgNode("line", { x1: ox, y1: oy, x2, y2, class: "cv-compass" }));
      const label = svgNode("text", { x: ox + dx * len * 1.45, y: oy - dy * len * 1.45, class: "cv-compass-text" });
      label.textContent = name;
      svg.append(label);
    }
  }
  if (data.scale_bar) {
    const y = side * 0.92, x1 = side * 0.94 - data.scale_bar.px;
    svg.append(svgNode("line", { x1, y1: y, x2: side * 0.94, y2: y, class: "cv-bar" }));
    const label = svgNode("text", { x: side * 0.94 - data.scale_bar.px / 2, y: y - side * 0.03, class: "cv-bar-text" });
    label.textContent = data.scale_bar.label;
    svg.append(label);
  }
}

function drawContext(parts, context, marker) {
  const svg = parts.contextSvg;
  svg.innerHTML = "";
  if (!context) return;
  const s = context.side, c = s / 2;
  svg.setAttribute("viewBox", `0 0 ${s} ${s}`);
  // the reviewed stamp's outline, then each neighbour circled in its class colour
  const half = context.stamp_side / 2;
  svg.append(svgNode("rect", { x: c - half, y: c - half, width: 2 * half, height: 2 * half, class: "cv-stampbox" }));
  for (const n of context.neighbours) {
    svg.append(svgNode("circle", { cx: c + n.dx, cy: c - n.dy, r: 5, stroke: n.colour, class: "cv-neighbour" }));
  }
  if (marker !== "none") svg.append(svgNode("circle", { cx: c, cy: c, r: 5, class: "cv-mark" }));
}

function drawMap(parts, map) {
  const svg = parts.mapSvg;
  svg.innerHTML = "";
  if (!map) { parts.mapBox.style.display = "none"; return; }
  parts.mapBox.style.display = "";
  if (parts.mapImg.getAttribute("src") !== map.src) parts.mapImg.src = map.src;
  svg.setAttribute("viewBox", `0 0 ${map.width} ${map.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const b = map.box;
  svg.append(svgNode("rect", { x: b.x, y: b.y, width: Math.max(b.w, 3), height: Math.max(b.h, 3), class: "cv-mapbox" }));
}

function showPayload(holder, data) {
  const parts = holder.parts;
  holder.shown = data;
  holder.frame = 0;
  const root = holder.root;
  root.dataset.candidate = String(data.candidate_id);
  parts.title.textContent = data.title;
  parts.sub.textContent = data.subtitle;
  parts.progress.textContent = data.progress || "";
  parts.flag.style.display = data.flagged ? "" : "none";
  parts.note.textContent = data.note || "";
  parts.note.style.display = data.note ? "" : "none";
  setFrame(holder, 0);
  drawMain(parts, data, holder.marker);
  parts.contour.innerHTML = data.contour_svg; // built by the server from numbers only
  const contourSvg = parts.contour.querySelector("svg");
  if (contourSvg) drawMarker(contourSvg, data.v_side, holder.marker, data.aperture_px * data.v_side / data.side);
  parts.surface.src = data.surface;
  if (data.context) {
    parts.contextImg.src = data.context.src;
    parts.contextCap.textContent = data.context.caption;
  }
  drawContext(parts, data.context, holder.marker);
  drawMap(parts, data.field_map);
  parts.scores.innerHTML = "";
  if (data.scores) {
    parts.scores.append(el("div", "cv-scores-title", data.scores_title));
    for (const s of data.scores) {
      const row = el("div", "cv-score");
      const bar = el("span", "cv-score-bar");
      bar.style.width = `${Math.round(100 * s.p)}%`;
      bar.style.background = s.colour;
      row.append(el("span", "cv-score-name", s.name), el("span", "cv-score-track"), el("span", "cv-score-p", s.p.toFixed(2)));
      row.children[1].append(bar);
      parts.scores.append(row);
    }
  } else {
    parts.scores.append(el("div", "cv-scores-note", data.scores_note));
  }
  parts.lines.innerHTML = "";
  for (const line of data.lines) parts.lines.append(el("div", "cv-line", line));
  parts.strip.innerHTML = "";
  for (const [i, stamp] of data.strip.entries()) {
    const fig = el("figure", "cv-stamp");
    const img = el("img", "cv-px");
    img.src = stamp.src;
    img.alt = stamp.name;
    img.onclick = () => openZoom(holder, stamp.src, stamp.name);
    const box = el("div", "cv-stampwrap");
    box.append(img);
    if (i < 5) {
      const svg = svgNode("svg", { class: "cv-overlay", viewBox: `0 0 ${data.side} ${data.side}` });
      drawMarker(svg, data.side, holder.marker, data.aperture_px);
      box.append(svg);
    }
    fig.append(box, el("figcaption", "cv-cap", stamp.name));
    parts.strip.append(fig);
  }
  parts.mainImg.onclick = () => openZoom(holder, parts.mainImg.src, parts.mainCap.textContent);
  parts.contextImg.onclick = () => data.context && openZoom(holder, data.context.src, data.context.caption);
  root.dataset.shownAt = String(performance.now());
}

function setFrame(holder, index) {
  const frames = holder.shown.frames;
  holder.frame = ((index % frames.length) + frames.length) % frames.length;
  const frame = frames[holder.frame];
  holder.parts.mainImg.src = frame.src;
  holder.parts.mainCap.textContent = frame.name + (frames.length > 1 ? `  (b: blink ${holder.frame + 1}/${frames.length})` : "");
  holder.root.dataset.frame = String(holder.frame);
}

function openZoom(holder, src, caption) {
  holder.parts.zoomImg.src = src;
  holder.parts.zoomCap.textContent = caption + "  (Esc or click closes)";
  holder.parts.zoom.classList.add("open");
  holder.parts.zoom.onclick = () => holder.parts.zoom.classList.remove("open");
}

function toast(holder, text) {
  const t = holder.parts.toast;
  t.textContent = text;
  t.classList.add("open");
  clearTimeout(holder.toastTimer);
  holder.toastTimer = setTimeout(() => t.classList.remove("open"), 2600);
}

function isTextEntry(target) {
  // the comment box and other free-text fields keep their keys; a selectbox's search box does not
  if (!target || !target.tagName) return false;
  if (target.tagName === "TEXTAREA") return true;
  if (target.tagName !== "INPUT") return false;
  const type = (target.getAttribute("type") || "text").toLowerCase();
  if (!["text", "search", "password", "number", "email"].includes(type)) return false;
  return target.getAttribute("role") !== "combobox" && !target.closest('[data-testid="stSelectbox"]')
    && !target.closest('[data-testid="stMultiSelect"]');
}

function onKey(holder, event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (isTextEntry(target)) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const parts = holder.parts;
  const key = event.key;
  const known = key in ACTION_KEYS || ["ArrowLeft", "ArrowRight", "b", "B", "+", "=", "c", "?", "Escape"].includes(key);
  if (!known) {
    if (key.length === 1 && /[a-z0-9]/i.test(key)) {
      event.preventDefault();
      toast(holder, `"${key}" is not a shortcut: press ? for the keys`);
    }
    return;
  }
  // a shortcut: it must not also type into, or move, the widget that had focus
  event.preventDefault();
  event.stopPropagation();
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  if (key === "Escape") {
    parts.zoom.classList.remove("open");
    parts.help.classList.remove("open");
    return;
  }
  if (key === "?") { parts.help.classList.toggle("open"); return; }
  if (key === "b" || key === "B") { setFrame(holder, holder.frame + (key === "B" ? -1 : 1)); return; }
  if (key === "+" || key === "=") {
    const frame = holder.shown.frames[holder.frame];
    openZoom(holder, frame.src, frame.name);
    return;
  }
  if (key === "c") {
    const order = ["crosshair", "aperture", "none"];
    holder.marker = order[(order.indexOf(holder.marker) + 1) % order.length];
    const current = holder.shown;
    showPayload(holder, current);
    toast(holder, `centre marker: ${holder.marker}`);
    holder.send("marker", holder.marker);
    return;
  }
  if (holder.pending) {
    toast(holder, `"${key}" not taken: still saving your last action on #${holder.pending}, press it again in a moment`);
    return;
  }
  const shown = holder.shown;
  const action = key === "ArrowLeft" ? "back" : key === "ArrowRight" ? "forward" : ACTION_KEYS[key];
  if (action === "back" && !shown.previous_id) { toast(holder, "nothing before this candidate in this session"); return; }
  if (action === "forward" && !shown.following_id) { toast(holder, "no later candidate seen: label or skip to go on"); return; }
  holder.seq += 1;
  holder.pending = shown.source_id;
  holder.send("key", { action, candidate_id: shown.candidate_id, seq: holder.seq, at: Date.now() });
  holder.root.dataset.keyOn = String(shown.source_id); // the candidate this key acts on (for tests)
  // what comes next is already here: show it now, the server confirms it (or corrects it) shortly
  const cache = holder.cache;
  let next = null;
  if ((action === "1" || action === "2" || action === "3" || action === "4" || action === "unsure" || action === "skip")) next = cache.get(shown.next_id);
  if (action === "back") next = cache.get(shown.previous_id);
  if (action === "forward") next = cache.get(shown.following_id);
  if (action === "flag") {
    shown.flagged = !shown.flagged;
    parts.flag.style.display = shown.flagged ? "" : "none";
    toast(holder, shown.flagged ? "flagged: stored with your label" : "flag removed");
  }
  if (next) showPayload(holder, next);
  holder.root.dataset.pending = "1";
}

export default function (component) {
  const { data, setTriggerValue, setStateValue, parentElement } = component;
  let holder = parentElement.__candidateView;
  if (!holder) {
    const root = el("div", "cv-root");
    parentElement.appendChild(root);
    holder = { root, parts: build(root), seq: 0, cache: new Map(), marker: data.marker, lastSeq: -1 };
    parentElement.__candidateView = holder;
    holder.listener = (event) => onKey(holder, event);
    document.addEventListener("keydown", holder.listener, true);
  }
  holder.send = (name, value) => (name === "marker" ? setStateValue(name, value) : setTriggerValue(name, value));
  const cleanup = () => {
    document.removeEventListener("keydown", holder.listener, true);
    delete parentElement.__candidateView;
  };
  if (data.render_seq === holder.lastSeq) return cleanup;
  holder.lastSeq = data.render_seq;
  holder.marker = data.marker;
  for (const payload of [data.current, ...data.extra]) if (payload) holder.cache.set(payload.candidate_id, payload);
  while (holder.cache.size > 40) holder.cache.delete(holder.cache.keys().next().value);
  holder.pending = null;
  delete holder.root.dataset.pending;
  if (data.current) showPayload(holder, data.current);
  if (data.message) toast(holder, data.message);
  holder.root.dataset.renderSeq = String(data.render_seq);
  return cleanup;
}
