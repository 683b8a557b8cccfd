/*
 * app.js - the cronfleet dashboard, plain JavaScript (no framework, no
 * build step).
 *
 * It talks only to the gateway's REST API (docs/api.md), with the token
 * the user typed once, kept in sessionStorage so it lives as long as
 * the tab and is not shared with other tabs or written to disk by us.
 *
 * Every piece of data reaches the page through textContent or an
 * attribute, never parsed as markup: a job name or an error message from
 * a service is data. With the gateway's Content-Security-Policy (no
 * inline script or style) that keeps injected text inert; e2e.dashboard
 * checks that no HTML-parsing call appears in this file.
 *
 * Live updates: EventSource cannot send an Authorization header, so the
 * event stream is read with fetch() and a ReadableStream, parsed as
 * server-sent events here, and resumed with Last-Event-ID after a drop.
 * A slow poll backs it up, faster while the stream is down.
 */
'use strict';

(function () {
  const TOKEN_KEY = 'cronfleet.token';
  const API = '/api/v1';
  const POLL_LIVE_MS = 60000; /* the stream tells us about runs */
  const POLL_DOWN_MS = 15000; /* no stream: poll instead */
  const HISTORY_PAGE = 25;
  const EVENTS_KEPT = 200;

  const state = {
    token: null,
    me: null, /* {name, role} from /whoami */
    jobs: [],
    selected: null, /* the job whose details are open */
    historyBefore: null, /* cursor of the next older page */
    highlight: null, /* a fire id just triggered, shown in history */
    lastEventId: null,
    live: false,
    stream: null, /* AbortController of the event stream */
    pollTimer: null,
    refreshTimer: null,
    refreshing: null, /* the running refresh, so calls coalesce */
    refreshAgain: false,
  };

  const $ = (id) => document.getElementById(id);

  /* ---- small helpers ------------------------------------------------ */

  /*
   * el('td', {className: 'x', text: 'y', data: {job: 'z'}}, child...):
   * an element whose text and attributes are set as data, never parsed.
   */
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null) continue;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'className') e.className = v;
        else if (k === 'data') {
          for (const [dk, dv] of Object.entries(v)) {
            if (dv !== undefined && dv !== null) e.dataset[dk] = String(dv);
          }
        } else if (k === 'title') e.title = String(v);
        else if (k === 'onclick') e.addEventListener('click', v);
        else e.setAttribute(k, String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function badge(text, cls) {
    return el('span', { className: 'badge ' + (cls || text), text });
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  /* An RFC 3339 time in the browser's zone: "2026-11-23 14:05:00". */
  function fmtTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
      ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  /* "850 ms", "2.30 s", "4m 5s", "1h", "2d 3h": two units at most. */
  function fmtDuration(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '–';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 59500) {
      const s = ms / 1000;
      return s.toFixed(s < 10 ? 2 : 1) + ' s';
    }
    let s = Math.round(ms / 1000);
    const d = Math.floor(s / 86400);
    s %= 86400;
    const h = Math.floor(s / 3600);
    s %= 3600;
    const m = Math.floor(s / 60);
    s %= 60;
    const two = (a, ua, b, ub) => a + ua + (b ? ' ' + b + ub : '');
    return d ? two(d, 'd', h, 'h') : h ? two(h, 'h', m, 'm') : two(m, 'm', s, 's');
  }

  /* "in 3m 2s" / "5s ago", from now. */
  function fmtRelative(iso) {
    const t = Date.parse(iso);
    if (isNaN(t)) return '';
    const d = t - Date.now();
    const abs = fmtDuration(Math.abs(d)).replace(/\.\d+ s$/, ' s');
    return Math.abs(d) < 1000 ? 'now' : d > 0 ? 'in ' + abs : abs + ' ago';
  }

  /* A time cell: absolute, with the relative form kept up to date. */
  function timeNode(iso) {
    if (!iso) return el('span', { className: 'dim', text: '–' });
    return el('span', { title: iso },
      fmtTime(iso), ' ',
      el('span', { className: 'dim rel', data: { rel: iso }, text: '(' + fmtRelative(iso) + ')' }));
  }

  function runDuration(run) {
    if (!run) return null;
    if (typeof run.duration_ms === 'number') return run.duration_ms;
    const a = Date.parse(run.started_at);
    if (isNaN(a)) return null;
    const b = run.finished_at ? Date.parse(run.finished_at) : Date.now();
    return isNaN(b) ? null : b - a;
  }

  function compactJson(v) {
    if (v === null || v === undefined) return '';
    let s;
    try { s = typeof v === 'string' ? v : JSON.stringify(v); } catch (e) { s = String(v); }
    return s.length > 300 ? s.slice(0, 300) + '…' : s;
  }

  function isAdmin() { return !!state.me && state.me.role === 'admin'; }

  /* ---- notices ------------------------------------------------------- */

  let noticeTimer = null;
  function notice(text, kind, data) {
    const n = $('notice');
    n.textContent = text;
    n.className = 'notice ' + (kind || '');
    for (const k of Object.keys(n.dataset)) delete n.dataset[k];
    if (data) for (const [k, v] of Object.entries(data)) n.dataset[k] = String(v);
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, kind === 'bad' ? 15000 : 8000);
  }

  /* ---- the API ------------------------------------------------------- */

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /*
   * One call: the envelope's parsed JSON, or an ApiError with the
   * server's own message. A 401 means the token is no good (revoked, or
   * mistyped): forget it and ask again.
   */
  async function api(method, path, body) {
    const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    const opts = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'the gateway does not answer (' + e.message + ')');
    }
    let j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    if (r.status === 401) {
      signOut('The gateway refused the token (401). Enter it again.');
      throw new ApiError(401, 'unauthorized');
    }
    if (r.status === 429) {
      const after = r.headers.get('Retry-After');
      throw new ApiError(429, 'too many failed attempts from this address' +
        (after ? '; retry in ' + after + ' s' : ''));
    }
    if (!r.ok || !j || j.success === false) {
      throw new ApiError(r.status, (j && j.error) || ('HTTP ' + r.status));
    }
    return j;
  }

  /* ---- signing in and out -------------------------------------------- */

  async function signIn(token, fromForm) {
    state.token = token;
    const err = $('login-error');
    err.textContent = '';
    $('login-button').disabled = true;
    try {
      const j = await api('GET', API + '/whoami');
      state.me = j.data;
    } catch (e) {
      $('login-button').disabled = false;
      if (e.status !== 401) {
        /* A 401 already showed the form again with its message. */
        showLogin((fromForm ? 'Sign-in failed: ' : '') + e.message);
      }
      return;
    }
    $('login-button').disabled = false;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    showMain();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.me = null;
    stopStream();
    clearTimeout(state.pollTimer);
    showLogin(message || '');
  }

  function showLogin(message) {
    $('main').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    setLive(false);
    $('token').focus();
  }

  function showMain() {
    $('login').hidden = true;
    $('main').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = state.me.name + ' (' + state.me.role + ')';
    $('who').dataset.role = state.me.role;
    for (const e of document.querySelectorAll('.admin-only')) e.hidden = !isAdmin();
    refresh();
    startStream();
  }

  /* ---- the scheduler and its jobs ------------------------------------ */

  /*
   * Refreshes the overview and the table (and the open job's history);
   * calls made while one runs become one more run after it, so a burst
   * of events costs two requests, not one each.
   */
  function refresh() {
    if (state.refreshing) {
      state.refreshAgain = true;
      return state.refreshing;
    }
    state.refreshing = (async () => {
      do {
        state.refreshAgain = false;
        await refreshOnce();
      } while (state.refreshAgain && state.token);
      state.refreshing = null;
    })();
    return state.refreshing;
  }

  /* A refresh soon, once for a burst of events. */
  function refreshSoon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 250);
  }

  async function refreshOnce() {
    if (!state.token) return;
    try {
      const j = await api('GET', API + '/scheduler/status');
      renderOverview(j.data);
      state.jobs = Array.isArray(j.data.jobs) ? j.data.jobs : [];
      renderJobs();
      $('updated').textContent = fmtTime(new Date().toISOString());
    } catch (e) {
      if (e.status !== 401) notice('Status: ' + e.message, 'bad');
    }
    if (state.selected && state.token) await loadHistory(false);
    schedulePoll();
  }

  function schedulePoll() {
    clearTimeout(state.pollTimer);
    if (!state.token) return;
    state.pollTimer = setTimeout(refresh, state.live ? POLL_LIVE_MS : POLL_DOWN_MS);
  }

  function renderOverview(d) {
    const s = $('sched-state');
    s.textContent = d.status || 'unknown';
    s.className = 'badge ' + (d.running ? 'ok' : 'stopped');
    s.dataset.state = d.status || 'unknown';
    $('sched-since').replaceChildren(timeNode(d.started_at));
    const l = d.leader || {};
    $('sched-leader').textContent = l.clock_id
      ? l.clock_id + (l.epoch !== null && l.epoch !== undefined ? ' (epoch ' + l.epoch + ', ' + (l.lease || '?') + ')' : '')
      : '–';
    const svcs = $('sched-services');
    svcs.replaceChildren();
    for (const [name, st] of Object.entries(d.services || {})) {
      const ok = st === 'ok';
      svcs.append(el('span', { className: 'badge ' + (ok ? 'ok' : 'error'), title: ok ? '' : String(st), text: name }), ' ');
    }
    $('sched-start').disabled = !!d.running;
    $('sched-stop').disabled = !d.running;
  }

  function renderJobs() {
    const body = $('jobs-body');
    const f = $('filter').value.trim().toLowerCase();
    const rows = [];
    for (const j of state.jobs) {
      if (f && !(j.job + ' ' + (j.service || '') + ' ' + (j.description || '')).toLowerCase().includes(f)) continue;
      rows.push(jobRow(j));
    }
    body.replaceChildren(...rows);
    $('jobs-empty').hidden = state.jobs.length !== 0;
  }

  function jobRow(j) {
    const run = j.last_run || null;
    const tr = el('tr', {
      data: { job: j.job, paused: j.paused ? 'true' : 'false', lastStatus: run ? run.status : '' },
      className: j.job === state.selected ? 'selected' : '',
    });
    tr.append(
      el('td', null, el('button', {
        type: 'button', className: 'link jobname', text: j.job,
        title: 'History and next fires', onclick: () => openDetail(j.job),
      })),
      el('td', { text: j.service || '–' }),
      el('td', null,
        j.description ? el('span', { text: j.description }) : null,
        el('code', { className: 'expr', text: j.schedule && j.schedule !== '-' ? j.schedule : 'no schedule (manual or after a job)' })),
      el('td', { className: 'nowrap', text: j.tz || 'clock default' }),
      el('td', { className: 'nowrap' }, timeNode(j.next_fire)),
      el('td', { className: 'nowrap last-run' },
        run ? badge(run.status) : el('span', { className: 'dim', text: 'never' }),
        run ? ' ' : null,
        run ? timeNode(run.finished_at || run.started_at || run.scheduled_for) : null),
      el('td', { className: 'nowrap', text: run ? fmtDuration(runDuration(run)) : '–' }),
      el('td', null, j.paused ? badge('paused') : j.enabled === false ? badge('disabled', 'skipped') : badge('active', 'ok')),
    );
    if (isAdmin()) {
      tr.append(el('td', null, el('div', { className: 'row-actions' },
        el('button', { type: 'button', className: 'primary', text: 'Trigger', data: { action: 'trigger' }, onclick: (ev) => act(ev.currentTarget, 'trigger', j.job) }),
        j.paused
          ? el('button', { type: 'button', text: 'Resume', data: { action: 'resume' }, onclick: (ev) => act(ev.currentTarget, 'resume', j.job) })
          : el('button', { type: 'button', text: 'Pause', data: { action: 'pause' }, onclick: (ev) => act(ev.currentTarget, 'pause', j.job) }),
      )));
    }
    return tr;
  }

  /* ---- actions (admins) ---------------------------------------------- */

  async function act(button, action, job) {
    const paths = {
      trigger: API + '/scheduler/trigger/' + encodeURIComponent(job),
      pause: API + '/jobs/' + encodeURIComponent(job) + '/pause',
      resume: API + '/jobs/' + encodeURIComponent(job) + '/resume',
    };
    button.disabled = true;
    try {
      const j = await api('POST', paths[action]);
      if (action === 'trigger') {
        const d = j.data || {};
        state.highlight = d.fire_id || null;
        notice('Triggered ' + job + ' on ' + (d.service || '?') + ': fire ' + (d.fire_id || '?'), 'ok',
          { action: 'trigger', job, fireId: d.fire_id || '' });
        await openDetail(job);
      } else {
        notice((action === 'pause' ? 'Paused ' : 'Resumed ') + job, 'ok', { action, job });
      }
    } catch (e) {
      if (e.status !== 401) notice(action + ' ' + job + ': ' + e.message, 'bad', { action, job });
    } finally {
      button.disabled = false;
    }
    refresh();
  }

  async function scheduler(action, button) {
    button.disabled = true;
    try {
      const j = await api('POST', API + '/scheduler/' + action);
      notice('Scheduler ' + ((j.data && j.data.scheduler) || action), 'ok', { action });
    } catch (e) {
      if (e.status !== 401) notice('Scheduler ' + action + ': ' + e.message, 'bad', { action });
    }
    refresh();
  }

  /*
   * Stopping the scheduler pauses every schedule of the fleet, so the
   * button asks twice: the first click arms it for five seconds. (A
   * confirm() dialog would do, but blocks the page and its updates.)
   */
  let stopArmed = null;
  function onStop() {
    const b = $('sched-stop');
    if (!stopArmed) {
      b.textContent = 'Click again to stop';
      b.classList.add('armed');
      stopArmed = setTimeout(disarmStop, 5000);
      return;
    }
    disarmStop();
    scheduler('stop', b);
  }
  function disarmStop() {
    clearTimeout(stopArmed);
    stopArmed = null;
    const b = $('sched-stop');
    b.textContent = 'Stop scheduler';
    b.classList.remove('armed');
  }

  /* ---- one job: details and history ----------------------------------- */

  async function openDetail(job) {
    const changed = state.selected !== job;
    state.selected = job;
    if (changed) {
      $('history-body').replaceChildren();
      $('detail-status').value = '';
    }
    for (const tr of $('jobs-body').children) {
      tr.classList.toggle('selected', tr.dataset.job === job);
    }
    $('detail').hidden = false;
    $('detail-job').textContent = job;
    await Promise.all([loadJob(job), loadHistory(false)]);
  }

  function closeDetail() {
    state.selected = null;
    state.highlight = null;
    $('detail').hidden = true;
    for (const tr of $('jobs-body').children) tr.classList.remove('selected');
  }

  async function loadJob(job) {
    let d;
    try {
      d = (await api('GET', API + '/jobs/' + encodeURIComponent(job))).data;
    } catch (e) {
      if (e.status !== 401) notice('Job ' + job + ': ' + e.message, 'bad');
      return;
    }
    if (state.selected !== job) return;
    $('detail-desc').textContent = d.description || (d.schedule === '-' ? 'No schedule of its own: runs by hand or after another job.' : '');
    const facts = $('detail-facts');
    facts.replaceChildren();
    const add = (k, v) => {
      if (v === undefined || v === null || v === '') return;
      facts.append(el('dt', { text: k }), el('dd', { text: v }));
    };
    add('Service', d.service);
    add('Schedule', d.schedule);
    add('Zone', d.tz || 'clock default');
    add('Paused', d.paused ? 'yes' : 'no');
    add('Misfire', d.misfire && d.misfire + (d.catchup_window_ms ? ', window ' + fmtDuration(d.catchup_window_ms) : ''));
    add('Overlap', d.overlap);
    add('Timeout', d.timeout_ms ? fmtDuration(d.timeout_ms) : null);
    add('Priority', d.priority);
    add('Retries', d.retries);
    add('After', d.after);
    add('DST', d.dst_gap ? 'gap ' + d.dst_gap + ', repeat ' + (d.dst_repeat || '?') : null);
    const fires = $('detail-fires');
    fires.replaceChildren();
    for (const f of d.fires || []) {
      fires.append(el('li', null, timeNode(f.at), f.dst ? ' ' : null, f.dst ? badge('DST ' + f.dst, 'skipped') : null));
    }
    if (!fires.children.length) fires.append(el('li', { className: 'dim', text: d.paused ? 'paused' : 'none' }));
  }

  /* The job's runs, newest first; more=true appends the next older page. */
  async function loadHistory(more) {
    const job = state.selected;
    if (!job) return;
    const q = new URLSearchParams({ job, limit: String(HISTORY_PAGE) });
    const st = $('detail-status').value;
    if (st) q.set('status', st);
    if (more && state.historyBefore) q.set('before', state.historyBefore);
    let j;
    try {
      j = await api('GET', API + '/scheduler/history?' + q.toString());
    } catch (e) {
      if (e.status !== 401) notice('History of ' + job + ': ' + e.message, 'bad');
      return;
    }
    if (state.selected !== job) return;
    const runs = Array.isArray(j.data) ? j.data : [];
    const rows = runs.map(historyRow);
    if (more) $('history-body').append(...rows);
    else $('history-body').replaceChildren(...rows);
    if (!more && !rows.length) {
      $('history-body').append(el('tr', null, el('td', { colspan: 8, className: 'dim', text: 'No runs yet.' })));
    }
    state.historyBefore = (j.page && j.page.next_before) || null;
    $('history-more').hidden = !state.historyBefore;
  }

  function historyRow(r) {
    const tr = el('tr', {
      data: { fireId: r.fire_id, status: r.status, attempt: r.attempt, runId: r.run_id },
      className: state.highlight && r.fire_id === state.highlight ? 'flash' : '',
    });
    const detail = r.error
      ? el('td', { className: 'err', text: r.error })
      : el('td', { className: 'res mono', text: compactJson(r.result) });
    tr.append(
      el('td', { className: 'nowrap' }, timeNode(r.scheduled_for)),
      el('td', { text: (r.trigger || '–') + (r.source === 'clock' ? ' (clock)' : '') }),
      el('td', { text: r.attempt !== undefined && r.attempt !== null ? r.attempt : '–' }),
      el('td', null, badge(r.status || '?'), r.final === false && r.next_attempt_at ? el('span', { className: 'dim', text: ' retry ' + fmtRelative(r.next_attempt_at) }) : null),
      el('td', { className: 'nowrap' }, timeNode(r.started_at)),
      el('td', { className: 'nowrap', text: r.started_at ? fmtDuration(runDuration(r)) : '–' }),
      el('td', { className: 'mono fire', text: r.fire_id || '–' }),
      detail,
    );
    return tr;
  }

  /* ---- live events ----------------------------------------------------- */

  function setLive(on) {
    state.live = on;
    const l = $('live');
    l.textContent = on ? 'live' : 'offline';
    l.className = 'live ' + (on ? 'on' : 'off');
    l.dataset.live = on ? 'true' : 'false';
  }

  function stopStream() {
    if (state.stream) state.stream.abort();
    state.stream = null;
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  /*
   * Reads /api/v1/events for as long as we are signed in. On a drop it
   * waits (the server's "retry:", doubling up to 30 s while the gateway
   * refuses or is away) and resumes after the last id it saw.
   */
  async function startStream() {
    stopStream();
    const ctl = new AbortController();
    state.stream = ctl;
    let retry = 3000, backoff = retry;
    while (state.stream === ctl && state.token) {
      let ok = false;
      try {
        const headers = { Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream' };
        if (state.lastEventId) headers['Last-Event-ID'] = state.lastEventId;
        const r = await fetch(API + '/events', { headers, signal: ctl.signal, cache: 'no-store' });
        if (r.status === 401) {
          signOut('The gateway refused the token (401). Enter it again.');
          return;
        }
        if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
        ok = true;
        backoff = retry;
        setLive(true);
        refreshSoon(); /* what happened while we were away */
        await readEvents(r.body, (ms) => { retry = ms; backoff = ms; });
      } catch (e) {
        if (ctl.signal.aborted) return;
      }
      if (state.stream !== ctl) return;
      setLive(false);
      schedulePoll();
      await sleep(backoff + Math.random() * 500);
      if (!ok) backoff = Math.min(backoff * 2, 30000);
    }
  }

  /* Parses the text/event-stream body (the HTML standard's rules). */
  async function readEvents(body, onRetry) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '', data = [], type = '', id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      /* A CR at the very end may be half of a CRLF: wait for more. */
      while ((nl = buf.search(/\r\n|\n|\r(?=.)/s)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (id !== null) state.lastEventId = id;
          if (data.length) onEvent(type || 'message', data.join('\n'), state.lastEventId);
          data = []; type = ''; id = null;
          continue;
        }
        if (line[0] === ':') {
          onComment(line.slice(1).trim());
          continue;
        }
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? '' : line.slice(c + 1);
        if (v[0] === ' ') v = v.slice(1);
        if (field === 'data') data.push(v);
        else if (field === 'event') type = v;
        else if (field === 'id' && !v.includes('\0')) id = v;
        else if (field === 'retry' && /^\d+$/.test(v)) onRetry(Math.max(1000, parseInt(v, 10)));
      }
    }
  }

  /* A comment other than the keep-alive is news for people (e.g. events
   * missed across a gateway restart). */
  function onComment(text) {
    if (!text || /^keep-?alive/i.test(text)) return;
    addEventLine(el('li', { className: 'note', text }));
    refreshSoon();
  }

  function onEvent(type, text, id) {
    let ev;
    try { ev = JSON.parse(text); } catch (e) { return; }
    if (!ev || typeof ev !== 'object') return;
    const st = ev.state || type;
    const li = el('li', { data: { job: ev.job, state: st, fireId: ev.fire_id, id } },
      el('span', { className: 't', text: fmtTime(ev.finished_at || ev.started_at || new Date().toISOString()) }),
      badge(st),
      el('span', { className: 'jobname', text: ev.job || '?' }),
      el('span', { className: 'dim', text: (ev.service || '') + (ev.attempt > 1 ? ' · attempt ' + ev.attempt : '') + (ev.trigger ? ' · ' + ev.trigger : '') }),
      typeof ev.duration_ms === 'number' ? el('span', { text: fmtDuration(ev.duration_ms) }) : null,
      ev.error ? el('span', { className: 'error', text: ev.error }) : null,
    );
    addEventLine(li);
    refreshSoon();
  }

  function addEventLine(li) {
    const list = $('events');
    list.prepend(li);
    while (list.children.length > EVENTS_KEPT) list.lastChild.remove();
  }

  /* ---- wiring --------------------------------------------------------- */

  function tickRelative() {
    for (const e of document.querySelectorAll('[data-rel]')) {
      e.textContent = '(' + fmtRelative(e.dataset.rel) + ')';
    }
  }

  function init() {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      if (t) signIn(t, true);
    });
    $('signout').addEventListener('click', () => signOut('Signed out.'));
    $('sched-start').addEventListener('click', (ev) => scheduler('start', ev.currentTarget));
    $('sched-stop').addEventListener('click', onStop);
    $('filter').addEventListener('input', renderJobs);
    $('detail-close').addEventListener('click', closeDetail);
    $('detail-status').addEventListener('change', () => loadHistory(false));
    $('history-more').addEventListener('click', () => loadHistory(true));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && state.token) refresh();
    });
    setInterval(tickRelative, 5000);
    /* Times are shown in the browser's zone; say which. */
    try {
      $('zone').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'your zone';
    } catch (e) { /* keep "your zone" */ }

    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved, false);
    else showLogin('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
