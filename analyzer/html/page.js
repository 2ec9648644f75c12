/* page.js: the script of memprof html's page (embedded in every page it writes).
 *
 * It reads the data memprof pre-aggregated (the <script id="memprof-data"> element, see
 * analyzer/html_page.c for its fields), and draws an icicle flame graph with a metric
 * switch, zoom, search and a details panel, and a timeline whose selected range re-draws
 * the graph for what was allocated in it. Everything the page says without it is in the
 * tables written by memprof; this script only adds the interactive views. No library, no
 * network: the page must work from file://. The view can be set from the URL's hash
 * (#metric=calls&range=3-7&search=foo; view=ID scrolls to a section), which is also how it
 * is linked and tested.
 */
(function () {
  'use strict';
  var errors = document.getElementById('errors');
  window.addEventListener('error', function (e) {
    if (errors) errors.textContent = 'Script error: ' + e.message;
  });

  var D = JSON.parse(document.getElementById('memprof-data').textContent);
  var SVGNS = 'http://www.w3.org/2000/svg';
  var ROW = 18;

  /* ---- figures: rounded for the eye, exact in the title ---- */
  var UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];
  function human(value, unit) {
    if (unit === 'B') {
      if (Math.abs(value) < 1024) return value + ' B';
      var scaled = value / 1024, i = 0;
      while (Math.abs(scaled) >= 1024 && i < UNITS.length - 1) { scaled /= 1024; i++; }
      return scaled.toFixed(1) + ' ' + UNITS[i];
    }
    if (Math.abs(value) < 10000) return String(value);
    var k = ['k', 'M', 'G', 'T'], v = value / 1000, j = 0;
    while (Math.abs(v) >= 1000 && j < k.length - 1) { v /= 1000; j++; }
    return v.toFixed(1) + ' ' + k[j];
  }
  function exact(value, unit) {
    return value + (unit === 'B' ? ' bytes' : unit === 'calls' ? ' calls' : ' blocks');
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function figure(value, unit) {
    return el('span', { title: exact(value, unit) }, human(value, unit));
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    return node;
  }
  function percent(part, whole) {
    return whole ? (100 * part / whole).toFixed(part * 1000 < whole ? 2 : 1) + '%' : '0%';
  }

  /* ---- the tree ---- */
  var N = D.nodes.length;
  var parent = new Int32Array(N), frameOf = new Int32Array(N), children = [];
  for (var n = 0; n < N; n++) {
    parent[n] = D.nodes[n][0];
    frameOf[n] = D.nodes[n][1];
    children.push([]);
    if (n) children[parent[n]].push(n);
  }
  function frameLabel(n) { return D.frames[frameOf[n]][0]; }
  function frameWhere(f) {
    var frame = D.frames[f], text = frame[1] ? frame[1] + ':' + frame[2] : '';
    if (frame[3]) text += (text ? ' in ' : 'in ') + frame[3];
    return text + (frame[4] ? ' (inlined)' : '');
  }
  /* Self figures of a node: side 0 the trace, 1 the base; kind 0 values, 1 blocks. */
  function self(n, side, kind, m) {
    var list = D.nodes[n][2 + 2 * side + kind];
    return list && m < list.length ? list[m] : 0;
  }
  function inclusive(selfOf) {
    var values = new Float64Array(N);
    for (var i = 0; i < N; i++) values[i] = selfOf(i);
    for (var j = N - 1; j > 0; j--) values[parent[j]] += values[j];
    return values;
  }

  /* ---- metrics, whole run and time range ---- */
  var RANGE = [
    { id: 'range-allocated', label: 'Allocated in the range', unit: 'B', help: 'bytes allocated in the selected range' },
    { id: 'range-allocations', label: 'Allocations in the range', unit: 'blocks', help: 'blocks allocated in the selected range' },
    { id: 'range-live', label: 'Allocated in the range, live at its end', unit: 'B', help: 'bytes allocated in the selected range and not freed by its end' }
  ];
  var state = { metric: 0, range: null, zoom: 0, search: '', rangeMetric: 0 };
  var T = D.time;

  /* Per node: what the range [first, last] of buckets allocated (bytes, blocks) and what
   * of that was live at its end; from the cells (node, alloc, end, bytes, blocks). */
  function rangeSelf(first, last) {
    var bytes = new Float64Array(N), blocks = new Float64Array(N), live = new Float64Array(N);
    var cells = T.cells;
    for (var c = 0; c < cells.length; c += 5) {
      var node = cells[c], a = cells[c + 1], e = cells[c + 2];
      if (a < first || a > last) continue;
      if (a === e) { bytes[node] += cells[c + 3]; blocks[node] += cells[c + 4]; }
      else if (e > last) live[node] += cells[c + 3];
    }
    return [bytes, blocks, live];
  }

  var current = null; /* { values, base, unit, label, total } of what is drawn */
  function compute() {
    var m, values, base = null, widths = null;
    if (state.range) {
      var pick = rangeSelf(state.range[0], state.range[1])[state.rangeMetric];
      m = RANGE[state.rangeMetric];
      values = inclusive(function (i) { return pick[i]; });
    } else {
      m = D.metrics[state.metric];
      var index = state.metric;
      values = inclusive(function (i) { return self(i, 0, 0, index); });
      if (D.diff) {
        base = inclusive(function (i) { return self(i, 1, 0, index); });
        widths = inclusive(function (i) { return Math.max(self(i, 0, 0, index), self(i, 1, 0, index)); });
      }
    }
    current = { values: values, base: base, widths: widths || values, unit: m.unit, label: m.label,
                total: values[0], metric: m };
  }
  /* In a differential view a node is as wide as the sum over its subtree of the larger of
   * each stack's two values: a stack that shrank to nothing still shows, and children
   * never add up to more than their parent. */
  function width(n) { return current.widths[n]; }

  /* ---- the flame graph (an icicle: callers above their callees) ---- */
  var flame = document.getElementById('flame');
  var details = document.getElementById('details');
  var status = document.getElementById('fg-status');
  function hue(label) {
    var h = 0;
    for (var i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) >>> 0;
    return h;
  }
  function color(n) {
    if (frameOf[n] === 1) return '#c8c8c8';
    if (current.base) {
      var delta = current.values[n] - current.base[n], most = current.maxDelta || 1;
      var t = Math.min(1, Math.abs(delta) / most), l = Math.round(92 - 42 * t);
      if (!delta) return 'hsl(0,0%,85%)';
      return delta > 0 ? 'hsl(4,75%,' + l + '%)' : 'hsl(214,70%,' + l + '%)';
    }
    var h = hue(frameLabel(n));
    return 'hsl(' + (10 + h % 45) + ',' + (70 + h % 20) + '%,' + (58 + (h >> 8) % 14) + '%)';
  }
  function matches(n) {
    if (!state.search) return false;
    var text = (frameLabel(n) + ' ' + frameWhere(frameOf[n])).toLowerCase();
    return text.indexOf(state.search.toLowerCase()) >= 0;
  }
  function tooltip(n) {
    var unit = current.unit, text = frameLabel(n);
    var where = frameWhere(frameOf[n]);
    if (where) text += '\n' + where;
    text += '\n' + exact(current.values[n], unit) + ' (' + percent(current.values[n], current.total) + ')';
    if (current.base) text += '\nbase ' + exact(current.base[n], unit) + ', change ' +
      (current.values[n] - current.base[n] >= 0 ? '+' : '') + (current.values[n] - current.base[n]);
    if (frameOf[n] === 1) text += '\n' + D.nodes[n][6] + ' stacks below the threshold';
    return text;
  }
  function sortedChildren(n) {
    return children[n].slice().sort(function (a, b) { return width(b) - width(a) || a - b; });
  }
  function draw() {
    compute();
    if (current.base) {
      var most = 0;
      for (var i = 1; i < N; i++) most = Math.max(most, Math.abs(current.values[i] - current.base[i]));
      current.maxDelta = most;
    }
    var W = Math.max(400, flame.clientWidth || 1200);
    var chain = [], z = state.zoom;
    for (var a = z; a; a = parent[a]) chain.unshift(a);
    chain.unshift(0);
    chain.pop();
    var rows = [], maxDepth = 0, zw = width(z) || 1;
    chain.forEach(function (c, depth) { rows.push([c, depth, 0, W, true]); });
    (function layout(node, depth, x, w) {
      rows.push([node, depth, x, w, false]);
      if (depth > maxDepth) maxDepth = depth;
      var cx = x;
      sortedChildren(node).forEach(function (c) {
        var cw = w * width(c) / (width(node) || 1);
        if (cw >= 0.5) layout(c, depth + 1, cx, cw);
        cx += cw;
      });
    })(z, chain.length, 0, W * width(z) / zw);
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + (maxDepth + 1) * ROW, height: (maxDepth + 1) * ROW });
    var matched = 0, matchedNodes = 0;
    rows.forEach(function (row) {
      var n = row[0], g = svg('g', { 'class': 'node' + (row[4] ? ' dim' : ''), 'data-node': n });
      var isMatch = matches(n);
      if (isMatch) { g.setAttribute('class', g.getAttribute('class') + ' match'); }
      var rect = svg('rect', { x: row[2].toFixed(1), y: row[1] * ROW, width: Math.max(0.5, row[3]).toFixed(1),
                               height: ROW - 1, fill: color(n) });
      var title = svg('title');
      title.textContent = tooltip(n);
      g.appendChild(title);
      g.appendChild(rect);
      if (row[3] > 28) {
        var label = frameLabel(n), fit = Math.floor((row[3] - 6) / 6.6);
        var t = svg('text', { x: (row[2] + 3).toFixed(1), y: row[1] * ROW + 13 });
        t.textContent = label.length > fit ? label.slice(0, Math.max(0, fit - 1)) + '\u2026' : label;
        g.appendChild(t);
      }
      g.addEventListener('click', function () { state.zoom = n; update(); });
      g.addEventListener('mouseenter', function () { showDetails(n); });
      root.appendChild(g);
    });
    /* The search's share counts each matched subtree once, over the whole tree. */
    if (state.search) {
      (function walk(n, inside) {
        var hit = !inside && n && matches(n);
        if (hit) { matched += current.values[n]; matchedNodes++; }
        children[n].forEach(function (c) { walk(c, inside || hit); });
      })(0, false);
    }
    flame.textContent = '';
    flame.appendChild(root);
    writeStatus(matched, matchedNodes);
    writeTop();
  }
  function writeStatus(matched, matchedNodes) {
    status.textContent = '';
    status.appendChild(document.createTextNode(current.label + ': '));
    status.appendChild(figure(current.total, current.unit));
    if (current.base) {
      status.appendChild(document.createTextNode(' (base '));
      status.appendChild(figure(current.base[0], current.unit));
      status.appendChild(document.createTextNode(')'));
    }
    if (state.range) status.appendChild(document.createTextNode(', ' + rangeText()));
    if (state.zoom) status.appendChild(document.createTextNode('; zoomed on ' + frameLabel(state.zoom) +
                                                               ' (' + percent(current.values[state.zoom], current.total) + ')'));
    if (state.search) {
      status.appendChild(document.createTextNode('; search "' + state.search + '": ' + matchedNodes + ' matches, '));
      status.appendChild(figure(matched, current.unit));
      status.appendChild(document.createTextNode(' (' + percent(matched, current.total) + ')'));
    }
  }
  /* The largest nodes by their own value in the current view, as a table. */
  function writeTop() {
    var table = document.getElementById('fg-top'), ranked = [];
    for (var n = 1; n < N; n++) {
      var own = current.values[n], base = current.base ? current.base[n] : 0;
      children[n].forEach(function (c) { own -= current.values[c]; if (current.base) base -= current.base[c]; });
      if (own || base) ranked.push([n, own, base]);
    }
    ranked.sort(function (a, b) {
      return current.base ? Math.abs(b[1] - b[2]) - Math.abs(a[1] - a[2]) || a[0] - b[0] : b[1] - a[1] || a[0] - b[0];
    });
    table.textContent = '';
    var head = el('tr');
    ['Function', 'Where', current.base ? 'New' : current.label, current.base ? 'Base' : 'Share',
     current.base ? 'Change' : 'Caller'].forEach(function (h) { head.appendChild(el('th', {}, h)); });
    table.appendChild(head);
    ranked.slice(0, 15).forEach(function (r) {
      var row = el('tr', { 'data-node': r[0] });
      row.appendChild(el('td', {}, frameLabel(r[0])));
      row.appendChild(el('td', {}, frameWhere(frameOf[r[0]])));
      var value = el('td', { 'class': 'n' });
      value.appendChild(figure(r[1], current.unit));
      row.appendChild(value);
      if (current.base) {
        var b = el('td', { 'class': 'n' }), d = el('td', { 'class': 'n ' + (r[1] > r[2] ? 'grow' : 'shrink') });
        b.appendChild(figure(r[2], current.unit));
        d.appendChild(figure(r[1] - r[2], current.unit));
        if (r[1] > r[2]) d.insertBefore(document.createTextNode('+'), d.firstChild);
        row.appendChild(b);
        row.appendChild(d);
      } else {
        row.appendChild(el('td', { 'class': 'n' }, percent(r[1], current.total)));
        row.appendChild(el('td', {}, parent[r[0]] ? frameLabel(parent[r[0]]) : ''));
      }
      table.appendChild(row);
    });
  }
  function showDetails(n) {
    details.textContent = '';
    var head = el('div');
    head.appendChild(el('b', {}, frameLabel(n)));
    head.appendChild(document.createTextNode(': '));
    head.appendChild(figure(current.values[n], current.unit));
    head.appendChild(document.createTextNode(' ' + current.label.toLowerCase() + ' (' +
                                             percent(current.values[n], current.total) + ')'));
    if (current.base) {
      head.appendChild(document.createTextNode(', base '));
      head.appendChild(figure(current.base[n], current.unit));
    }
    details.appendChild(head);
    var list = el('ol', { 'class': 'stack' }), path = [];
    for (var a = n; a; a = parent[a]) path.push(a);
    path.forEach(function (p) {
      var item = el('li', {}, frameLabel(p) + ' ');
      item.appendChild(el('span', { 'class': 'loc' }, frameWhere(frameOf[p])));
      list.appendChild(item);
    });
    details.appendChild(el('div', { 'class': 'note' }, 'Stack, innermost first:'));
    details.appendChild(list);
  }

  /* ---- the timeline ---- */
  var timeline = document.getElementById('timeline');
  var rangeInfo = document.getElementById('range-info');
  function seconds(ns) { return (ns / 1e9).toFixed(ns < 1e7 ? 4 : 3) + ' s'; }
  function rangeText() {
    var w = T.bucket_ns, r = state.range;
    return 'range ' + seconds(r[0] * w) + ' to ' + seconds((r[1] + 1) * w) + ' (buckets ' + r[0] + '-' + r[1] + ')';
  }
  /* Each point's value, carried over points without an event. */
  function series(values) {
    var out = [], last = 0;
    for (var i = 0; i < values.length; i++) { if (values[i] !== null) last = values[i]; out.push(last); }
    return out;
  }
  var tl = null;
  /* An axis's rounded figure, with its exact value as a title. */
  function axisLabel(x, y, value, color) {
    var label = svg('text', { x: x, y: y, 'font-size': 11, fill: color }), title = svg('title');
    title.textContent = exact(value, 'B');
    label.appendChild(title);
    label.appendChild(document.createTextNode(human(value, 'B')));
    return label;
  }
  function drawTimeline() {
    if (!T) { timeline.textContent = 'This trace has no events.'; return; }
    var W = Math.max(400, timeline.clientWidth || 1200), H = 190, left = 70, right = 70, bottom = 22, top = 32;
    var points = T.heap_max.length, span = T.bucket_ns * T.buckets;
    var heap = series(T.heap_max), mmap = series(T.mmap_max), rss = T.rss || [];
    /* The heap and mmap'd bytes on the left axis, RSS on its own on the right: a small
     * heap would be a flat line on the scale of a process's RSS. */
    var most = 1, mostRss = 1;
    heap.concat(mmap).forEach(function (v) { most = Math.max(most, v); });
    rss.forEach(function (p) { mostRss = Math.max(mostRss, p[1]); });
    var x = function (ns) { return left + (W - left - right) * ns / span; };
    var y = function (v) { return top + (H - top - bottom) * (1 - v / most); };
    var yRss = function (v) { return top + (H - top - bottom) * (1 - v / mostRss); };
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, height: H });
    [0, 0.5, 1].forEach(function (f) {
      root.appendChild(axisLabel(4, y(most * f) + 4, Math.round(most * f), '#d9480f'));
      if (rss.length) root.appendChild(axisLabel(W - right + 4, y(most * f) + 4, Math.round(mostRss * f), '#5f3dc4'));
      root.appendChild(svg('line', { x1: left, x2: W - right, y1: y(most * f), y2: y(most * f), stroke: '#eee' }));
    });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var label = svg('text', { x: x(span * f) - (f === 1 ? 50 : f ? 20 : 0), y: H - 6, 'font-size': 11 });
      label.textContent = seconds(span * f);
      root.appendChild(label);
    });
    function line(values, stroke) {
      var d = values.map(function (v, i) { return (i ? 'L' : 'M') + x(span * i / points).toFixed(1) + ' ' + y(v).toFixed(1); });
      root.appendChild(svg('path', { d: d.join(''), fill: 'none', stroke: stroke, 'stroke-width': 1.5 }));
    }
    line(heap, '#d9480f');
    line(mmap, '#2b8a3e');
    if (rss.length) {
      root.appendChild(svg('path', { d: rss.map(function (p, i) { return (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + yRss(p[1]).toFixed(1); }).join(''),
                                     fill: 'none', stroke: '#5f3dc4', 'stroke-dasharray': '4 3' }));
      rss.forEach(function (p) {
        var dot = svg('circle', { cx: x(p[0]), cy: yRss(p[1]), r: 3.5, fill: '#5f3dc4' });
        var title = svg('title');
        title.textContent = 'RSS ' + exact(p[1], 'B') + ' at ' + seconds(p[0]);
        dot.appendChild(title);
        root.appendChild(dot);
      });
    }
    (T.marks || []).forEach(function (mark, i) {
      var g = svg('g'), title = svg('title');
      g.appendChild(svg('line', { x1: x(mark.t), x2: x(mark.t), y1: 2, y2: H - bottom, stroke: mark.color || '#888', 'stroke-dasharray': '2 2' }));
      var label = svg('text', { x: x(mark.t) + 2, y: 9 + (i % 3) * 10, 'font-size': 10, fill: mark.color || '#555' });
      label.textContent = mark.label;
      title.textContent = mark.label + ' at ' + seconds(mark.t);
      g.appendChild(title);
      g.appendChild(label);
      root.appendChild(g);
    });
    var sel = svg('rect', { 'class': 'sel', y: top, height: H - top - bottom, x: 0, width: 0, visibility: 'hidden' });
    root.appendChild(sel);
    timeline.textContent = '';
    timeline.appendChild(root);
    tl = { root: root, sel: sel, x: x };
    showRange();
    if (!D.diff) {
      var start = null;
      var bucketAt = function (event) {
        var box = root.getBoundingClientRect(), px = (event.clientX - box.left) * W / (box.width || W);
        var ns = (px - left) / (W - left - right) * span;
        return Math.max(0, Math.min(T.buckets - 1, Math.floor(ns / T.bucket_ns)));
      };
      root.addEventListener('mousedown', function (event) { start = bucketAt(event); event.preventDefault(); });
      root.addEventListener('mousemove', function (event) {
        if (start === null) return;
        var b = bucketAt(event);
        paintRange(Math.min(start, b), Math.max(start, b));
      });
      window.addEventListener('mouseup', function (event) {
        if (start === null) return;
        var b = bucketAt(event), first = Math.min(start, b), last = Math.max(start, b);
        start = null;
        selectRange([first, last]);
      });
    }
  }
  function paintRange(first, last) {
    var w = T.bucket_ns;
    tl.sel.setAttribute('x', tl.x(first * w).toFixed(1));
    tl.sel.setAttribute('width', (tl.x((last + 1) * w) - tl.x(first * w)).toFixed(1));
    tl.sel.setAttribute('visibility', 'visible');
  }
  function showRange() {
    if (!tl) return;
    if (state.range) paintRange(state.range[0], state.range[1]);
    else tl.sel.setAttribute('visibility', 'hidden');
    rangeInfo.textContent = state.range ? 'Selected ' + rangeText() + ': the flame graph shows what was allocated in it.' :
      D.diff ? 'Time ranges are not available in a differential view.' :
      'Drag across the timeline to see what was allocated in a time range and what of it was still live at its end.';
  }
  function selectRange(range) {
    state.range = range;
    state.zoom = 0;
    syncSelect();
    update();
  }

  /* ---- controls and the URL's hash ---- */
  var select = document.getElementById('metric');
  function syncSelect() { select.value = state.range ? RANGE[state.rangeMetric].id : D.metrics[state.metric].id; }
  function fillSelect() {
    var whole = el('optgroup', { label: 'Whole run' });
    D.metrics.forEach(function (m) {
      var option = el('option', { value: m.id, title: m.help || '' }, m.label);
      if (!m.available) option.disabled = true;
      whole.appendChild(option);
    });
    select.appendChild(whole);
    if (T && !D.diff) {
      var range = el('optgroup', { label: 'Selected time range' });
      RANGE.forEach(function (m) { range.appendChild(el('option', { value: m.id, title: m.help }, m.label)); });
      select.appendChild(range);
    }
    select.addEventListener('change', function () {
      var id = select.value;
      for (var i = 0; i < RANGE.length; i++) if (RANGE[i].id === id) {
        state.rangeMetric = i;
        if (!state.range) state.range = [0, T.buckets - 1];
        state.zoom = 0;
        return update();
      }
      for (var j = 0; j < D.metrics.length; j++) if (D.metrics[j].id === id) {
        state.metric = j;
        state.range = null;
        state.zoom = 0;
      }
      update();
    });
  }
  function writeHash() {
    var parts = ['metric=' + (state.range ? RANGE[state.rangeMetric].id : D.metrics[state.metric].id)];
    if (state.range) parts.push('range=' + state.range[0] + '-' + state.range[1]);
    if (state.search) parts.push('search=' + encodeURIComponent(state.search));
    if (state.view) parts.push('view=' + encodeURIComponent(state.view));
    if (history.replaceState) history.replaceState(null, '', '#' + parts.join('&'));
  }
  function readHash() {
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      var kv = part.split('='), value = decodeURIComponent(kv[1] || '');
      if (kv[0] === 'metric') {
        D.metrics.forEach(function (m, i) { if (m.id === value && m.available) state.metric = i; });
        RANGE.forEach(function (m, i) { if (m.id === value) state.rangeMetric = i; });
      } else if (kv[0] === 'range' && T && !D.diff) {
        var r = value.split('-').map(Number);
        if (r.length === 2 && r[0] <= r[1] && r[0] >= 0 && r[1] < T.buckets) state.range = r;
      } else if (kv[0] === 'search') {
        state.search = value;
      } else if (kv[0] === 'view') {
        state.view = value;
      }
    });
  }
  function update() {
    syncSelect();
    draw();
    showRange();
    writeHash();
  }
  function start() {
    D.metrics.forEach(function (m, i) { if (m.id === D.default_metric && m.available) state.metric = i; });
    readHash();
    fillSelect();
    var search = document.getElementById('search');
    search.value = state.search;
    search.addEventListener('input', function () { state.search = search.value; update(); });
    document.getElementById('reset').addEventListener('click', function () {
      state.zoom = 0; state.range = null; update();
    });
    drawTimeline();
    update();
    showDetails(0);
    var view = state.view && document.getElementById(state.view);
    if (view) view.scrollIntoView();
    document.body.setAttribute('data-ready', '1');
  }
  start();
})();
