// charts.js — small SVG line charts with a time axis and a labelled value
// axis, for the dashboard (no library: a few lines of SVG scale to any
// width, which a fixed-size canvas does not).
//
//   wkitChart(svg, { series: [{ name, color, points: [[t_s, value], ...] }],
//                    unit: 'tasks/s', from: t0_s, to: t1_s })
//
// Times are Unix seconds; the x axis is labelled in local clock time.
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 480, H = 180;  // the viewBox: the SVG scales it to its box
  const PAD = { left: 46, right: 12, top: 24, bottom: 24 };

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A "nice" step (1, 2 or 5 times a power of ten) for about `n` ticks.
  function niceStep(span, n) {
    const raw = span / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }

  // Time ticks at round clock times: 10 s .. 1 h apart, about 5 of them.
  function timeStep(span) {
    const steps = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    return steps.find((s) => span / s <= 6) || 3600;
  }

  function clock(t, step) {
    const d = new Date(t * 1000);
    const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
    return step < 60 ? hm + ':' + String(d.getSeconds()).padStart(2, '0') : hm;
  }

  function short(v) {
    if (v >= 1e6) return (v / 1e6).toPrecision(3).replace(/\.?0+$/, '') + 'M';
    if (v >= 1e3) return (v / 1e3).toPrecision(3).replace(/\.?0+$/, '') + 'k';
    return String(Math.round(v * 100) / 100);
  }

  function draw(svg, { series, unit, from, to }) {
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const span = Math.max(1, to - from);
    let max = 0;
    for (const s of series) for (const [, v] of s.points) max = Math.max(max, v);
    const step = niceStep(max > 0 ? max : 1, 4);
    const top = Math.max(step, Math.ceil(max / step) * step);
    const x = (t) => PAD.left + (t - from) / span * (W - PAD.left - PAD.right);
    const y = (v) => H - PAD.bottom - v / top * (H - PAD.top - PAD.bottom);
    // Value axis: grid lines with their values, the unit at the top.
    for (let v = 0; v <= top + step / 2; v += step) {
      svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(el('text', { x: PAD.left - 4, y: y(v) + 4, 'text-anchor': 'end' }, short(v)));
    }
    svg.append(el('text', { x: 4, y: 14, class: 'unit' }, unit));
    // Time axis: ticks at round clock times.
    const ts = timeStep(span);
    for (let t = Math.ceil(from / ts) * ts; t <= to; t += ts) {
      svg.append(el('line', { x1: x(t), x2: x(t), y1: H - PAD.bottom, y2: H - PAD.bottom + 4, class: 'axis' }));
      // A label near an edge is anchored there, so it is not cut off.
      const anchor = x(t) > W - 30 ? 'end' : x(t) < PAD.left + 20 ? 'start' : 'middle';
      svg.append(el('text', { x: x(t), y: H - 6, 'text-anchor': anchor }, clock(t, ts)));
    }
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: 'axis' }));
    for (const s of series) {
      if (!s.points.length) continue;
      const d = s.points.map(([t, v], i) => (i ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1)).join('');
      const path = el('path', { d, stroke: s.color, class: 'series' });
      path.append(el('title', {}, s.name));
      svg.append(path);
    }
  }

  self.wkitChart = draw;
})();
