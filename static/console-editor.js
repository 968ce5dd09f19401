// trackd console: the template editor's live preview. The page works
// without it (the preview is rendered with the page, the sample chooser
// is a form); with it, the server renders the preview again as marketing
// types, 300 ms after the last key, and problems appear beside their part.
// Text is only set with textContent; the HTML preview goes into a frame
// sandboxed with no allowances, so its scripts never run.
(() => {
  'use strict';
  const form = document.querySelector('[data-template-editor]');
  const preview = document.querySelector('[data-preview]');
  const sample = document.querySelector('[data-sample]');
  if (!form || !preview || !sample) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : '';
  const channel = form.dataset.channel;
  const parts = [...form.querySelectorAll('textarea[data-part]')];
  const $ = sel => document.querySelector(sel);
  const state = $('[data-preview-status]');
  const DELAY = 300;
  let timer = 0, seq = 0, inflight = null;

  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  const request = () => {
    const body = {
      channel,
      locale: sample.querySelector('[data-sample-locale]').value,
      sample: {
        status: sample.querySelector('[data-sample-status]').value,
        split: sample.querySelector('[data-sample-split]').checked,
        delayed: sample.querySelector('[data-sample-delayed]').checked,
      },
    };
    for (const t of parts) body[t.name] = t.value;
    return body;
  };

  // The source line a problem points at, to show beside it.
  const sourceLine = (part, line) => {
    const t = parts.find(p => p.name === part);
    if (!t || !line) return '';
    const l = (t.value.split('\n')[line - 1] || '').trim();
    return l.length > 120 ? l.slice(0, 120) + '…' : l;
  };

  const list = (kind, part) => document.querySelector(`ul[data-kind="${kind}"][data-problems="${part}"]`);

  // showProblems puts each problem in its part's list, those of no part
  // in the general one.
  const showProblems = (kind, problems) => {
    const lists = [...document.querySelectorAll(`ul[data-kind="${kind}"]`)];
    for (const ul of lists) ul.replaceChildren();
    for (const p of problems || []) {
      const ul = list(kind, p.part) || list('problems', 'general');
      if (!ul) continue;
      const own = ul.dataset.problems === p.part;
      const li = el('li', (p.line > 0 ? `Line ${p.line}: ` : '') + (own ? '' : p.part + ': ') + p.message);
      li.dataset.line = String(p.line || 0);
      const src = own ? sourceLine(p.part, p.line) : '';
      if (src) li.append(' ', el('code', src));
      ul.append(li);
    }
    if (kind === 'problems') {
      for (const t of parts) {
        const bad = (problems || []).some(p => p.part === t.name);
        t.setAttribute('aria-invalid', String(bad));
      }
    }
  };

  const setState = (name, text) => {
    preview.dataset.previewState = name;
    if (state) state.textContent = text;
  };

  const show = r => {
    if (channel === 'sms') {
      const body = $('[data-preview-body]'), size = $('[data-preview-size]');
      if (body) body.textContent = r.body || '';
      if (size) {
        const seg = r.segments === 1 ? 'segment' : 'segments';
        size.textContent = `${r.characters || 0} characters · ${r.encoding || ''} · ${r.segments || 0} ${seg}`;
      }
    } else {
      const subject = $('[data-preview-subject]'), html = $('[data-preview-html]'), text = $('[data-preview-text]');
      if (subject) subject.textContent = r.subject || '';
      if (html) html.srcdoc = r.html || '';
      if (text) text.textContent = r.text || '';
    }
  };

  const render = async () => {
    const n = ++seq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    setState('rendering', 'Rendering…');
    let res, body;
    try {
      res = await fetch('/console/templates/preview', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify(request()),
        signal: inflight.signal,
      });
      body = await res.json().catch(() => ({}));
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (n === seq) setState('failed', 'The preview cannot reach trackd; it will try again as you type.');
      return;
    }
    if (n !== seq) return;
    if (res.ok) {
      show(body);
      showProblems('problems', []);
      showProblems('warnings', body.warnings);
      setState('ok', 'Preview of what is in the editor.');
    } else if (res.status === 422) {
      showProblems('problems', body.errors);
      showProblems('warnings', body.warnings);
      setState('invalid', 'The template does not render: see the problems. The preview shows the last version that did.');
    } else if (res.status === 401 || res.status === 403) {
      setState('failed', 'Signed out, or the page is out of date: reload it (copy your changes first).');
    } else {
      setState('failed', 'The preview failed: ' + (body.error || res.status));
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(render, DELAY);
  };

  for (const t of parts) t.addEventListener('input', schedule);
  sample.addEventListener('change', schedule);
  // The chooser's Show button would reload the page and lose what is typed.
  sample.addEventListener('submit', e => {
    e.preventDefault();
    clearTimeout(timer);
    render();
  });
  preview.dataset.editorReady = 'true';
})();
