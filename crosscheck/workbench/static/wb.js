/* crosscheck workbench script: language toggle, login, the forms that call the JSON contract.
   Values are written with textContent only; every change carries the page's CSRF token. */
(function () {
  'use strict';
  var lang = 'zh';
  function setLang(l) {
    lang = l === 'en' ? 'en' : 'zh';
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.body.className = document.body.className.replace(/\blang-\w+\b/, '') + ' lang-' + lang;
    var b = document.getElementById('lang-toggle');
    if (b) b.textContent = lang === 'zh' ? 'English' : '中文';
    Array.prototype.forEach.call(document.querySelectorAll('option[data-en]'), function (o) {
      if (!o.hasAttribute('data-zh')) o.setAttribute('data-zh', o.textContent);
      o.textContent = o.getAttribute(lang === 'en' ? 'data-en' : 'data-zh');
    });
    Array.prototype.forEach.call(document.querySelectorAll('input[data-placeholder-en]'), function (i) {
      if (!i.hasAttribute('data-placeholder-zh')) i.setAttribute('data-placeholder-zh', i.placeholder);
      i.placeholder = i.getAttribute(lang === 'en' ? 'data-placeholder-en' : 'data-placeholder-zh');
    });
    try { window.localStorage.setItem('crosscheck-lang', lang); } catch (e) { /* storage may be off */ }
  }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }
  function say(el, text, ok) {
    if (!el) return;
    el.textContent = text;
    el.className = 'msg ' + (ok ? 'ok' : 'err');
  }
  function answer(r) {
    return r.json().catch(function () { return {}; }).then(function (data) {
      if (!r.ok) {
        var text = data && (lang === 'en' ? data.error_en : data.error_zh);
        throw new Error(text || (data && data.error) || ('HTTP ' + r.status));
      }
      return data;
    });
  }
  function call(method, url, body) {
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(answer);
  }
  function wireUploads() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-upload]'), function (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var msg = form.querySelector('.msg');
        var data = new FormData(form);
        say(msg, lang === 'zh' ? '上传中…' : 'Uploading…', true);
        fetch(form.getAttribute('data-upload'), { method: 'POST', credentials: 'same-origin',
          headers: { 'X-CSRF-Token': csrf() }, body: data }).then(answer).then(function () {
          window.location.assign(window.location.pathname);
        }).catch(function (err) { say(msg, err.message, false); });
      });
    });
    var p = document.getElementById('print-btn');
    if (p) p.addEventListener('click', function () { window.print(); });
  }
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.querySelectorAll('input[name], select[name], textarea[name]'), function (el) {
      if (el.type === 'checkbox') { if (el.checked) body[el.name] = true; return; }
      if (el.value !== '') body[el.name] = el.value;
    });
    return body;
  }
  function wireForms() {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-api]'), function (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var msg = form.querySelector('.msg');
        var body = formBody(form);
        if (form.hasAttribute('data-bulk')) {
          body.keys = Array.prototype.map.call(document.querySelectorAll('input.pick:checked'), function (c) { return c.value; });
          if (!body.keys.length) { say(msg, lang === 'zh' ? '请先勾选线索' : 'Tick some clues first', false); return; }
        }
        var confirmText = form.getAttribute('data-confirm');
        if (confirmText && !window.confirm(confirmText)) return;
        say(msg, lang === 'zh' ? '提交中…' : 'Saving…', true);
        call('POST', form.getAttribute('data-api'), body).then(function (data) {
          if (form.hasAttribute('data-unmask')) { showUnmasked(data); say(msg, lang === 'zh' ? '已显示明文（已留痕）' : 'Shown in full (logged)', true); return; }
          say(msg, lang === 'zh' ? '已保存' : 'Saved', true);
          var next = form.getAttribute('data-next');
          window.location.assign(next || window.location.pathname + window.location.search);
        }).catch(function (err) { say(msg, err.message, false); });
      });
    });
  }
  function showUnmasked(clue) {
    ['person_id', 'name', 'subject', 'evidence'].forEach(function (k) {
      Array.prototype.forEach.call(document.querySelectorAll('[data-field="' + k + '"]'), function (el) {
        el.textContent = clue[k] == null ? '' : String(clue[k]);
      });
    });
    var list = document.querySelector('[data-field="sources"]');
    if (list && clue.sources) {
      while (list.firstChild) list.removeChild(list.firstChild);
      clue.sources.forEach(function (s) { var li = document.createElement('li'); li.textContent = s; list.appendChild(li); });
    }
    var fields = clue.evidence_fields || {};
    Array.prototype.forEach.call(document.querySelectorAll('[data-evidence]'), function (el) {
      var v = fields[el.getAttribute('data-evidence')];
      el.textContent = v == null ? '' : (typeof v === 'string' ? v : JSON.stringify(v));
    });
  }
  function wireLogin() {
    var form = document.getElementById('login-form');
    if (!form) return;
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var msg = form.querySelector('.msg');
      call('POST', '/api/login', formBody(form)).then(function () {
        window.location.assign('/clues');
      }).catch(function (err) { say(msg, err.message, false); });
    });
  }
  function wireLogout() {
    var b = document.getElementById('logout');
    if (!b) return;
    b.addEventListener('click', function () {
      call('POST', '/api/logout', {}).then(function () { window.location.assign('/login'); })
        .catch(function () { window.location.assign('/login'); });
    });
  }
  function wirePickAll() {
    var all = document.getElementById('pick-all');
    if (!all) return;
    all.addEventListener('change', function () {
      Array.prototype.forEach.call(document.querySelectorAll('input.pick'), function (c) { c.checked = all.checked; });
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    var saved = null;
    try { saved = window.localStorage.getItem('crosscheck-lang'); } catch (e) { saved = null; }
    setLang(saved || 'zh');
    var b = document.getElementById('lang-toggle');
    if (b) b.addEventListener('click', function () { setLang(lang === 'zh' ? 'en' : 'zh'); });
    wireForms(); wireUploads(); wireLogin(); wireLogout(); wirePickAll();
  });
})();
