// trackd: live updates for the tracking page (which works without them).
// Text is only set with textContent: carriers write it.
(() => {
  'use strict';
  const root = document.querySelector('[data-token]'), words = document.getElementById('i18n');
  if (!root || !words) return;
  const T = JSON.parse(words.textContent), lang = T.lang || 'en';
  // Status to progress step and tone, as the server maps them.
  const STEP = T.step || {}, TONE = T.tone || {}, BASE = 500, CAP = 30000;
  const STAGE = T.order_stage || {}, ORDER_TONE = T.order_tone || {};
  const ymd = { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' };
  const dateFmt = new Intl.DateTimeFormat(lang, ymd);
  const timeFmt = new Intl.DateTimeFormat(lang, { ...ymd, hour: 'numeric', minute: '2-digit' });
  const numFmt = new Intl.NumberFormat(lang);

  const t = (key, vars = {}) => Object.keys(vars).reduce((s, k) => s.split('{' + k + '}').join(vars[k]), T[key] || key);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const $ = (node, sel) => node.querySelector(sel);
  const sections = () => [...document.querySelectorAll('[data-shipment-id]')];
  const section = id => sections().find(s => s.dataset.shipmentId === id);
  // Go's nanoseconds cut to ms.
  const parse = s => Date.parse(String(s || '').replace(/(\.\d{3})\d+/, '$1'));
  // Stream ids "ms-seq", compared as numbers.
  const cmpCursor = (a, b) => {
    const x = (a || '0-0').split('-'), y = (b || '0-0').split('-');
    return (x[0] - y[0]) || ((x[1] || 0) - (y[1] || 0));
  };
  // The scan's local time and offset: shift by it, format as UTC.
  const eventTime = (local, utc) => {
    const m = /([+-])(\d\d):?(\d\d)$/.exec(local || '') || [, '+', '00', '00'], sign = m[1] === '-' ? -1 : 1;
    const d = new Date(parse(utc || local) + sign * (m[2] * 60 + +m[3]) * 6e4);
    return isNaN(d) ? local || '' : timeFmt.format(d) + ` (UTC${sign < 0 ? '\u2212' : '+'}${m[2]}:${m[3]})`;
  };
  const day = s => {
    const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(s || '');
    return m && new Date(Date.UTC(m[1], m[2] - 1, m[3]));
  };
  const rel = ms => {
    const d = Date.now() - ms;
    if (d < 6e4) return t('rel.now');
    const [u, size] = d < 36e5 ? ['minute', 6e4] : d < 864e5 ? ['hour', 36e5] : ['day', 864e5];
    const n = Math.floor(d / size);
    return t('rel.' + u + (n === 1 ? '.one' : '.other'), { n: numFmt.format(n) });
  };

  const eventItem = (ev, cursor) => {
    const li = el('li'), loc = ev.location || {}, tm = el('time', eventTime(ev.occurred_at_local, ev.occurred_at));
    Object.assign(li.dataset, { at: ev.occurred_at, cursor: ev.cursor || cursor || '', tone: TONE[ev.status] || '' });
    tm.dateTime = ev.occurred_at_local || ev.occurred_at;
    li.append(tm, el('b', t('status.' + ev.status)));
    if (ev.message) li.append(el('span', ev.message));
    const place = [loc.city, loc.region, loc.country].filter(p => p && p.trim()).join(', ');
    if (place) li.append(el('span', place, 'loc'));
    return li;
  };
  // Newest first by scan time: a late scan lands in its place.
  const insertEvent = (ol, li) => {
    const at = parse(li.dataset.at);
    const next = [...ol.children].find(n => parse(n.dataset.at) <= at);
    ol.insertBefore(li, next || null);
  };

  // The order's line, as tracking.DeriveOrderStatus has it; cancelled stays.
  // Outbound packages count by stage (waiting, moving, delivered, off the
  // path); the server says whether items are unshipped.
  const setOrder = () => {
    const box = $(document, '[data-order-status]'), n = [0, 0, 0, 0];
    if (!box || box.dataset.orderStatus === 'cancelled') return;
    for (const s of sections()) if (s.dataset.direction !== 'return') n[STAGE[$(s, '[data-status]').dataset.status] || 0]++;
    const [wait, move, done, bad] = n, rest = 'unshipped' in box.dataset;
    const st = bad ? 'exception' : !move && !done ? 'pending' : !wait && !move && !rest ? 'delivered'
      : done ? 'partially_delivered' : wait || rest ? 'partially_shipped' : 'in_transit';
    Object.assign(box.dataset, { orderStatus: st, tone: ORDER_TONE[st] || '' });
    $(box, '[data-order-badge]').textContent = t('order_status.' + st);
    $(box, '[data-order-desc]').textContent = t('order_desc.' + st);
  };

  // Off-path states take the newest event's step (snapshot) or keep it.
  const setState = (sec, status, delayed, eta, events = []) => {
    let key = 'desc.' + status, cur = STEP[status];
    if (sec.dataset.direction === 'return' && T['return.' + key]) key = 'return.' + key;
    sec.dataset.tone = TONE[status] || '';
    const st = $(sec, '[data-status]');
    st.dataset.status = status;
    st.textContent = t('status.' + status);
    $(sec, '[data-delayed]').hidden = !delayed;
    $(sec, '[data-desc]').textContent = t(key) + (delayed ? ' ' + t('delayed.desc') : '');
    for (const e of events) if (cur == null) cur = STEP[e.status];
    if (cur != null) sec.querySelectorAll('[data-progress] li').forEach((li, i) => {
      li.className = i < cur ? 'done' : i === cur ? 'done now' : '';
      if (i === cur) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    const dd = $(sec, '[data-eta]'), last = eta && day(eta.latest), first = eta && day(eta.first);
    dd.textContent = last ? dateFmt.format(last) : t('eta.none');
    if (last && first && last > first) dd.append(el('small', t('eta.later', { date: dateFmt.format(first) })));
    setOrder();
  };
  const setLatest = (sec, ev) => {
    $(sec, '[data-latest]').textContent = ev ? t('latest', { message: ev.message || t('status.' + ev.status) }) : '';
  };
  const setUpdated = (sec, ms) => {
    if (!(ms > 864e5)) return; // NaN, or zero: never updated
    const tm = el('time', rel(ms));
    tm.dateTime = new Date(ms).toISOString();
    $(sec, '[data-updated]').replaceChildren(tm);
  };
  const dropEmpty = sec => $(sec, '[data-empty]')?.remove();

  const onEvent = m => {
    const sec = section(m.shipment_id), ev = m.event;
    // Replays overlap; state messages have no event.
    if (!sec || ev && cmpCursor(m.cursor, sec.dataset.cursor) <= 0) return;
    setState(sec, m.status, m.delayed, m.estimated_delivery);
    if (!ev) return;
    const ol = $(sec, '[data-timeline]'), li = eventItem(ev, m.cursor);
    sec.dataset.cursor = m.cursor;
    li.className = 'new';
    insertEvent(ol, li);
    dropEmpty(sec);
    if (ol.firstElementChild === li) setLatest(sec, ev);
    setUpdated(sec, Date.now());
  };
  const onSnapshot = m => {
    for (const sh of m.shipments || []) {
      const sec = section(sh.id), evs = sh.events || [];
      if (!sec) continue;
      $(sec, '[data-timeline]').replaceChildren(...evs.map(ev => eventItem(ev)));
      if (evs.length) dropEmpty(sec);
      sec.dataset.cursor = sh.cursor || '';
      setState(sec, sh.status, sh.delayed, sh.estimated_delivery, evs);
      setLatest(sec, evs[0]);
      setUpdated(sec, parse(sh.updated_at));
    }
  };
  const onMessage = data => {
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (/^(event|state)$/.test(m.type)) onEvent(m);
    else if (m.type === 'snapshot') onSnapshot(m);
    attempt = 0;
  };

  // WebSocket, or SSE after two failed opens in a row; reconnects back off
  // (full jitter) and resume from the page's cursors.
  let attempt = 0, wsFails = 0, useSSE = !window.WebSocket, timer, conn, stopped;
  const query = () => '?' + new URLSearchParams(sections().map(s => ['cursor', s.dataset.shipmentId + ':' + (s.dataset.cursor || '0-0')]));
  const retry = ms => {
    clearTimeout(timer);
    if (ms == null) ms = Math.random() * Math.min(CAP, BASE * 2 ** attempt++);
    if (!stopped) timer = setTimeout(connect, ms);
  };
  const connect = () => {
    const path = '/t/' + encodeURIComponent(root.dataset.token);
    if (stopped) return;
    if (useSSE) {
      const es = conn = new EventSource(path + '/events' + query());
      es.onmessage = e => onMessage(e.data);
      es.onerror = () => {
        es.close(); // reconnect ourselves, with fresh cursors
        if (conn === es) { conn = null; retry(); }
      };
      return;
    }
    let ws, openedAt = 0;
    try {
      ws = conn = new WebSocket(location.origin.replace(/^http/, 'ws') + path + '/ws' + query());
    } catch {
      useSSE = true;
      return retry();
    }
    ws.onopen = () => { openedAt = Date.now(); wsFails = 0; };
    ws.onmessage = e => onMessage(e.data);
    ws.onclose = e => {
      if (conn !== ws) return;
      conn = null;
      if (!openedAt && ++wsFails >= 2) useSSE = true;
      if (openedAt && Date.now() - openedAt > 1e4) attempt = 0;
      // 1001: the server is going away; another one is there.
      retry(openedAt && e.code === 1001 ? Math.random() * BASE : null);
    };
  };

  setInterval(() => document.querySelectorAll('[data-updated] time').forEach(tm => {
    tm.textContent = rel(parse(tm.dateTime));
  }), 3e4);
  addEventListener('pagehide', () => {
    stopped = true;
    clearTimeout(timer);
    conn?.close();
    conn = null;
  });
  addEventListener('pageshow', e => {
    if (e.persisted) { stopped = false; connect(); }
  });
  connect();
})();
