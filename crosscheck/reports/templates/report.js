/* report.html script: language toggle and the findings tables.
   Data from the extracts is only ever written with textContent. No network. */
(function () {
  'use strict';

  var L = {
    zh: {
      toggle: 'English', search: '搜索身份证号、姓名、证据…', allDistricts: '全部区县', allSev: '全部等级',
      count: '显示 {a}–{b} 条，共 {n} 条', filtered: '（筛选自 {t} 条）', none: '没有符合筛选条件的疑点',
      prev: '上一页', next: '下一页', page: '第 {p} / {q} 页', perPage: '每页', all: '全部',
      unknown: '（未知）', sev: { high: '高', medium: '中', low: '低' },
      st: { 'new': '新增', recurring: '持续' }, allStatus: '新增及持续',
      cols: { id: '身份证号', name: '姓名', district: '区县', severity: '风险等级', amount: '涉及金额（元）',
              evidence: '证据', sources: '来源记录', finding_key: '发现编号', status: '状态', first_seen: '首次发现',
              priority: '序', rule: '规则', review: '复核结论' },
      rv: { confirmed: '属实', false_positive: '误报', explained: '已解释' },
      open: '展开详情', evidenceFull: '证据', fieldsTitle: '证据字段', sourcesTitle: '来源记录（文件:行号）', timeline: '时间线',
      reviewTitle: '复核', reviewBy: '复核人', reviewOn: '日期', reviewUntil: '抑制至', reviewChange: '再次列出的原因'
    },
    en: {
      toggle: '中文', search: 'Search id, name, evidence…', allDistricts: 'All districts', allSev: 'All severities',
      count: 'Showing {a}–{b} of {n}', filtered: ' (filtered from {t})', none: 'No findings match the filter',
      prev: 'Previous', next: 'Next', page: 'Page {p} of {q}', perPage: 'Per page', all: 'All',
      unknown: '(unknown)', sev: { high: 'High', medium: 'Medium', low: 'Low' },
      st: { 'new': 'New', recurring: 'Recurring' }, allStatus: 'New and recurring',
      cols: { id: 'Identity no.', name: 'Name', district: 'District', severity: 'Severity', amount: 'Amount (CNY)',
              evidence: 'Evidence', sources: 'Source records', finding_key: 'Finding key', status: 'Status', first_seen: 'First seen',
              priority: '#', rule: 'Rule', review: 'Review' },
      rv: { confirmed: 'Confirmed', false_positive: 'False positive', explained: 'Explained' },
      open: 'Show details', evidenceFull: 'Evidence', fieldsTitle: 'Evidence fields', sourcesTitle: 'Source records (file:line)', timeline: 'Timeline',
      reviewTitle: 'Review', reviewBy: 'Reviewer', reviewOn: 'Date', reviewUntil: 'Suppressed until', reviewChange: 'Listed again because'
    }
  };
  var SEV_RANK = { high: 0, medium: 1, low: 2 };
  var HIDDEN = { sources: 1, rule_id: 1, finding_key: 1 };   /* in the data (searched), shown in a finding's details */
  var parsed = {};                            /* one findings blob, parsed once, read by every table */
  function blob(id) {
    if (!parsed[id]) parsed[id] = JSON.parse(document.getElementById(id).textContent);
    return parsed[id];
  }
  /* the SVG namespace, as the HTML parser gives it (the page names no address at all) */
  var SVG = (function () { var d = document.createElement('div'); d.innerHTML = '<svg>'; return d.firstChild.namespaceURI; })();
  var ST_RANK = { 'new': 0, recurring: 1 };
  var lang = 'zh';
  var widgets = [];
  var collator = (window.Intl && Intl.Collator) ? new Intl.Collator('zh-CN', { numeric: true }) : null;

  function fmt(s, o) { return s.replace(/\{(\w+)\}/g, function (_, k) { return String(o[k]); }); }
  function money(v) {
    if (v === null || v === undefined || v === '') return '';
    var neg = v < 0, s = Math.abs(v).toFixed(2), p = s.split('.');
    p[0] = p[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + p[0] + '.' + p[1];
  }
  function intf(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function cmpText(a, b) { return collator ? collator.compare(a, b) : (a < b ? -1 : a > b ? 1 : 0); }

  function Widget(host) {
    var data = blob(host.getAttribute('data-blob'));
    var rule = host.getAttribute('data-rule'), ri = data.cols.indexOf('rule_id');
    var keep = data.rows.map(function (_, k) { return k; })
      .filter(function (k) { return !rule || data.rows[k][ri] === rule; });
    this.host = host;
    this.cols = data.cols;
    this.rows = keep.map(function (k) { return data.rows[k]; });
    this.details = keep.map(function (k) { return (data.details || [])[k] || null; });
    /* a rule's table leaves out the rule and the run-wide rank; the priority list shows them first */
    this.hidden = rule ? { priority: 1, rule: 1 } : {};
    var first = rule ? [] : ['priority', 'rule'];
    var cols = this.cols, me0 = this;
    this.display = first.map(function (c) { return cols.indexOf(c); }).filter(function (i) { return i >= 0; })
      .concat(cols.map(function (_, i) { return i; }).filter(function (i) {
        return first.indexOf(cols[i]) < 0 && !HIDDEN[cols[i]] && !me0.hidden[cols[i]];
      }));
    this.open = {};
    this.idx = {};
    for (var i = 0; i < this.cols.length; i++) this.idx[this.cols[i]] = i;
    var me = this;
    this.hay = this.rows.map(function (r) {
      return r.map(function (v) { return Array.isArray(v) ? v.join(' ') : v; }).join('\u0001').toLowerCase();
    });
    this.order = this.rows.map(function (_, i) { return i; });
    this.view = this.order.slice();
    this.sortCol = null; this.sortDir = 1; this.page = 0; this.pageSize = 100;
    this.text = ''; this.district = ''; this.sev = ''; this.st = '';
    var districts = {}, sevs = {}, sts = {};
    this.rows.forEach(function (r) {
      districts[r[me.idx.district]] = 1; sevs[r[me.idx.severity]] = 1;
      if (me.idx.status !== undefined) sts[r[me.idx.status]] = 1;
    });
    this.sts = Object.keys(sts).sort(function (a, b) { return (ST_RANK[a] === undefined ? 9 : ST_RANK[a]) - (ST_RANK[b] === undefined ? 9 : ST_RANK[b]); });
    this.districts = Object.keys(districts).sort(cmpText);
    this.sevs = Object.keys(sevs).sort(function (a, b) { return (SEV_RANK[a] === undefined ? 9 : SEV_RANK[a]) - (SEV_RANK[b] === undefined ? 9 : SEV_RANK[b]); });
    this.build();
  }

  Widget.prototype.build = function () {
    var me = this, host = this.host;
    host.textContent = '';
    var ctl = el('div', 'ft-controls');
    this.input = el('input'); this.input.type = 'search'; this.input.className = 'ft-search';
    this.input.addEventListener('input', function () { me.text = me.input.value.trim().toLowerCase(); me.page = 0; me.apply(); });
    this.dsel = el('select', 'ft-district');
    this.dsel.addEventListener('change', function () { me.district = me.dsel.value; me.page = 0; me.apply(); });
    this.ssel = el('select', 'ft-sev');
    this.ssel.addEventListener('change', function () { me.sev = me.ssel.value; me.page = 0; me.apply(); });
    this.stsel = el('select', 'ft-status');
    this.stsel.addEventListener('change', function () { me.st = me.stsel.value; me.page = 0; me.apply(); });
    this.countEl = el('span', 'ft-count');
    ctl.appendChild(this.input); ctl.appendChild(this.dsel);
    if (this.sevs.length > 1) ctl.appendChild(this.ssel);
    if (this.sts.length > 1) ctl.appendChild(this.stsel);
    ctl.appendChild(this.countEl);
    var wrap = el('div', 'ft-wrap');
    this.table = el('table', 'ft');
    this.thead = el('thead'); this.tbody = el('tbody');
    this.table.appendChild(this.thead); this.table.appendChild(this.tbody);
    wrap.appendChild(this.table);
    var pager = el('div', 'ft-pager');
    this.prev = el('button', 'ft-prev'); this.prev.type = 'button';
    this.next = el('button', 'ft-next'); this.next.type = 'button';
    this.pageEl = el('span', 'ft-page');
    this.prev.addEventListener('click', function () { if (me.page > 0) { me.page--; me.render(); } });
    this.next.addEventListener('click', function () { if (me.page < me.pages() - 1) { me.page++; me.render(); } });
    pager.appendChild(this.prev); pager.appendChild(this.pageEl); pager.appendChild(this.next);
    this.pager = pager;
    host.appendChild(ctl); host.appendChild(wrap); host.appendChild(pager);
    this.labels();
    this.apply();
  };

  Widget.prototype.labels = function () {
    var me = this, T = L[lang];
    this.input.placeholder = T.search;
    this.input.setAttribute('aria-label', T.search);
    this.dsel.textContent = '';
    var o = el('option', null, T.allDistricts); o.value = ''; this.dsel.appendChild(o);
    this.districts.forEach(function (d) { var op = el('option', null, d || T.unknown); op.value = d; me.dsel.appendChild(op); });
    this.dsel.value = this.district;
    this.ssel.textContent = '';
    o = el('option', null, T.allSev); o.value = ''; this.ssel.appendChild(o);
    this.sevs.forEach(function (s) { var op = el('option', null, T.sev[s] || s); op.value = s; me.ssel.appendChild(op); });
    this.ssel.value = this.sev;
    this.stsel.textContent = '';
    o = el('option', null, T.allStatus); o.value = ''; this.stsel.appendChild(o);
    this.sts.forEach(function (s) { var op = el('option', null, T.st[s] || s); op.value = s; me.stsel.appendChild(op); });
    this.stsel.value = this.st;
    this.prev.textContent = T.prev; this.next.textContent = T.next;
    this.thead.textContent = '';
    var tr = el('tr');
    this.display.forEach(function (i) {
      var c = me.cols[i];
      var th = el('th', c === 'amount' ? 'num' : null, T.cols[c] || c);
      th.setAttribute('data-col', c);
      th.setAttribute('scope', 'col');
      th.tabIndex = 0;
      var arrow = el('span', 'arrow', me.sortCol === i ? (me.sortDir > 0 ? '▲' : '▼') : '↕');
      th.appendChild(arrow);
      th.setAttribute('aria-sort', me.sortCol === i ? (me.sortDir > 0 ? 'ascending' : 'descending') : 'none');
      th.addEventListener('click', function () { me.sortBy(i); });
      th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); me.sortBy(i); } });
      tr.appendChild(th);
    });
    this.thead.appendChild(tr);
  };

  Widget.prototype.sortBy = function (i) {
    if (this.sortCol === i) this.sortDir = -this.sortDir;
    else { this.sortCol = i; this.sortDir = this.cols[i] === 'amount' ? -1 : 1; }
    var rows = this.rows, col = this.cols[i], dir = this.sortDir;
    var key;
    if (col === 'amount') key = function (r) { return r[i] === null ? null : r[i]; };
    else if (col === 'severity') key = function (r) { return SEV_RANK[r[i]] === undefined ? 9 : SEV_RANK[r[i]]; };
    else if (col === 'status') key = function (r) { return ST_RANK[r[i]] === undefined ? 9 : ST_RANK[r[i]]; };
    else if (col === 'priority') key = function (r) { return r[i]; };
    else if (col === 'rule') key = null;
    else key = null;
    this.order = this.rows.map(function (_, k) { return k; });
    this.order.sort(function (a, b) {
      var x, y, c;
      if (key) {
        x = key(rows[a]); y = key(rows[b]);
        if (x === null && y === null) c = 0;
        else if (x === null) return 1;          /* empty amounts last either way */
        else if (y === null) return -1;
        else c = x - y;
      } else {
        var u = rows[a][i], w = rows[b][i];
        c = cmpText(String(Array.isArray(u) ? u[lang === 'en' ? 1 : 0] : u), String(Array.isArray(w) ? w[lang === 'en' ? 1 : 0] : w));
      }
      return c !== 0 ? c * dir : a - b;
    });
    this.page = 0;
    this.labels();
    this.apply();
  };

  Widget.prototype.apply = function () {
    var me = this, di = this.idx.district, si = this.idx.severity, sti = this.idx.status;
    this.view = this.order.filter(function (k) {
      var r = me.rows[k];
      if (me.district !== '' && r[di] !== me.district) return false;
      if (me.sev !== '' && r[si] !== me.sev) return false;
      if (me.st !== '' && r[sti] !== me.st) return false;
      if (me.text !== '' && me.hay[k].indexOf(me.text) < 0) return false;
      return true;
    });
    this.render();
  };

  Widget.prototype.pages = function () { return Math.max(1, Math.ceil(this.view.length / this.pageSize)); };

  Widget.prototype.render = function () {
    var T = L[lang], me = this;
    var start = this.page * this.pageSize, end = Math.min(this.view.length, start + this.pageSize);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) {
      var n = this.view[k], r = this.rows[n];
      var tr = el('tr', 'ft-row');
      tr.tabIndex = 0;
      tr.title = T.open;
      (function (n, tr) {
        tr.addEventListener('click', function () { me.toggle(n, tr); });
        tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { ev.preventDefault(); me.toggle(n, tr); } });
      })(n, tr);
      for (var j = 0; j < this.display.length; j++) {
        var i = this.display[j], c = this.cols[i], v = r[i], td;
        if (c === 'amount') td = el('td', 'num c-amount', money(v));
        else if (c === 'severity') {
          td = el('td', 'c-severity');
          td.appendChild(el('span', 'badge sev-' + (SEV_RANK[v] === undefined ? 'x' : v), T.sev[v] || v));
        } else if (c === 'status') {
          td = el('td', 'c-status');
          if (v) td.appendChild(el('span', 'badge fs-' + (ST_RANK[v] === undefined ? 'x' : v), T.st[v] || v));
        } else if (c === 'review') {
          td = el('td', 'c-review');
          if (v) td.appendChild(el('span', 'badge rv-' + v, T.rv[v] || v));
        } else if (c === 'rule') { td = el('td', 'c-rule', v[lang === 'en' ? 1 : 0]); td.title = td.textContent; }
        else if (c === 'district') td = el('td', 'c-district', v || T.unknown);
        else if (c === 'evidence' || c === 'id' || c === 'name') { td = el('td', 'c-' + c, v); td.title = v || ''; }
        else td = el('td', 'c-' + c, v);
        tr.appendChild(td);
      }
      frag.appendChild(tr);
      if (this.open[n]) frag.appendChild(this.detailRow(n));
    }
    if (!this.view.length) {
      var tr0 = el('tr'), td0 = el('td', 'empty', T.none);
      td0.colSpan = this.shownCols(); tr0.appendChild(td0); frag.appendChild(tr0);
    }
    this.tbody.textContent = '';
    this.tbody.appendChild(frag);
    var msg = fmt(T.count, { a: this.view.length ? intf(start + 1) : 0, b: intf(end), n: intf(this.view.length) });
    if (this.view.length !== this.rows.length) msg += fmt(T.filtered, { t: intf(this.rows.length) });
    this.countEl.textContent = msg;
    this.countEl.setAttribute('data-shown', String(end - start));
    this.countEl.setAttribute('data-matched', String(this.view.length));
    this.pager.style.display = this.view.length > this.pageSize ? '' : 'none';
    this.pageEl.textContent = fmt(T.page, { p: this.page + 1, q: this.pages() });
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= this.pages() - 1;
  };

  Widget.prototype.shownCols = function () { return this.display.length; };

  Widget.prototype.toggle = function (n, tr) {
    if (this.open[n]) {
      delete this.open[n];
      if (tr.nextSibling && tr.nextSibling.className === 'ft-detail') tr.parentNode.removeChild(tr.nextSibling);
    } else {
      this.open[n] = 1;
      tr.parentNode.insertBefore(this.detailRow(n), tr.nextSibling);
    }
    tr.classList.toggle('is-open', !!this.open[n]);
  };

  /* A finding opened: its whole evidence, its evidence fields by their labels, its timeline, its review and its source records. */
  Widget.prototype.detailRow = function (n) {
    var T = L[lang], d = this.details[n] || {}, r = this.rows[n], tr = el('tr', 'ft-detail'), td = el('td');
    td.colSpan = this.shownCols();
    var body = el('div', 'ft-detail-body');
    var ev = this.idx.evidence, so = this.idx.sources;
    body.appendChild(el('div', 'd-label', T.evidenceFull));
    body.appendChild(el('p', 'd-evidence', ev === undefined ? '' : r[ev]));
    if (this.idx.finding_key !== undefined && r[this.idx.finding_key]) {
      var key = el('div', 'd-key', T.cols.finding_key + '：');
      key.appendChild(el('code', null, r[this.idx.finding_key]));
      body.appendChild(key);
    }
    if (d.fields && d.fields.length) {
      body.appendChild(el('div', 'd-label', T.fieldsTitle));
      var dl = el('dl', 'd-fields');
      d.fields.forEach(function (f) {
        dl.appendChild(el('dt', null, lang === 'en' ? f[1] : f[0]));
        dl.appendChild(el('dd', null, f[2]));
      });
      body.appendChild(dl);
    }
    if (d.timeline && d.timeline.length) {
      body.appendChild(el('div', 'd-label', T.timeline));
      body.appendChild(timeline(d.timeline));
    }
    if (d.review) {
      var rv = el('div', 'd-review');
      rv.appendChild(el('span', 'badge rv-' + d.review.d, T.rv[d.review.d] || d.review.d));
      if (d.review.note) rv.appendChild(el('span', 'd-note', d.review.note));
      var meta = [T.reviewBy + '：' + (d.review.by || '—'), T.reviewOn + '：' + (d.review.on || '—')];
      if (d.review.until) meta.push(T.reviewUntil + '：' + d.review.until);
      rv.appendChild(el('span', 'd-meta', meta.join(' · ')));
      if (d.review.change) rv.appendChild(el('div', 'd-change', T.reviewChange + '：' + d.review.change));
      body.appendChild(el('div', 'd-label', T.reviewTitle));
      body.appendChild(rv);
    }
    var sources = so === undefined || !r[so] ? [] : r[so].split('\n');
    if (sources.length) {
      body.appendChild(el('div', 'd-label', T.sourcesTitle));
      var ul = el('ul', 'd-sources');
      sources.forEach(function (s) { ul.appendChild(el('li', null, s)); });
      body.appendChild(ul);
    }
    td.appendChild(body);
    tr.appendChild(td);
    return tr;
  };

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function day(s) { var p = String(s).split('-'); return Date.UTC(+p[0], (+p[1] || 1) - 1, +p[2] || 1); }

  /* One lane per mark on a shared date axis; a death is a red line through every lane. */
  function timeline(marks) {
    var W = 640, left = 150, right = 20, lane = 26, top = 10;
    var lo = Infinity, hi = -Infinity;
    marks.forEach(function (m) { lo = Math.min(lo, day(m.from)); hi = Math.max(hi, day(m.to)); });
    var pad = Math.max((hi - lo) * 0.04, 15 * 864e5);
    lo -= pad; hi += pad;
    var x = function (t) { return left + (W - left - right) * (t - lo) / (hi - lo); };
    var H = top + lane * marks.length + 22;
    var g = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'class': 'timeline', role: 'img' });
    g.appendChild(svg('line', { x1: left, x2: W - right, y1: H - 18, y2: H - 18, 'class': 'tl-axis' }));
    g.appendChild(svg('text', { x: left, y: H - 4, 'class': 'tl-date' }, new Date(lo + pad).toISOString().slice(0, 10)));
    g.appendChild(svg('text', { x: W - right, y: H - 4, 'class': 'tl-date', 'text-anchor': 'end' }, new Date(hi - pad).toISOString().slice(0, 10)));
    marks.forEach(function (m, i) {
      var y = top + lane * i + lane / 2, a = x(day(m.from)), b = x(day(m.to));
      g.appendChild(svg('text', { x: left - 8, y: y + 4, 'text-anchor': 'end', 'class': 'tl-label' }, lang === 'en' ? m.en : m.zh));
      if (m.kind === 'death') {
        g.appendChild(svg('line', { x1: a, x2: a, y1: top, y2: H - 18, 'class': 'tl-death' }));
        g.appendChild(svg('text', { x: a + 4, y: y + 4, 'class': 'tl-when tl-death-text' }, m.from));
      } else if (b - a < 3) {
        g.appendChild(svg('circle', { cx: a, cy: y, r: 4, 'class': 'tl-point' }));
        g.appendChild(svg('text', { x: a + 7, y: y + 4, 'class': 'tl-when' }, m.from));
      } else {
        g.appendChild(svg('rect', { x: a, y: y, width: b - a, height: 8, rx: 2, 'class': 'tl-span' }));
        g.appendChild(svg('text', { x: a, y: y - 3, 'class': 'tl-when' }, m.from + ' – ' + m.to));
      }
    });
    return g;
  }

  function setLang(l) {
    lang = l === 'en' ? 'en' : 'zh';
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.body.className = document.body.className.replace(/\blang-\w+\b/, '') + ' lang-' + lang;
    document.body.className = document.body.className.trim();
    var b = document.getElementById('lang-toggle');
    if (b) b.textContent = L[lang].toggle;
    widgets.forEach(function (w) { w.labels(); w.render(); });
    try { window.localStorage.setItem('crosscheck-lang', lang); } catch (e) { /* file:// may forbid it */ }
  }

  function init() {
    var hosts = document.querySelectorAll('.findings[data-blob]');
    for (var i = 0; i < hosts.length; i++) {
      try { widgets.push(new Widget(hosts[i])); }
      catch (e) { hosts[i].textContent = 'Error: ' + e.message; }
    }
    window.crosscheckWidgets = widgets.slice();
    var first = document.querySelector('.priority-findings[data-blob]');
    if (first) {
      try { window.crosscheckPriority = new Widget(first); widgets.push(window.crosscheckPriority); }
      catch (e) { first.textContent = 'Error: ' + e.message; }
    }
    var saved = null;
    try { saved = window.localStorage.getItem('crosscheck-lang'); } catch (e) { saved = null; }
    setLang(saved || 'zh');
    var b = document.getElementById('lang-toggle');
    if (b) b.addEventListener('click', function () { setLang(lang === 'zh' ? 'en' : 'zh'); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
