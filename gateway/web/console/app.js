// The PIU gateway's console: plain JavaScript, no build step, nothing
// fetched from elsewhere. Every value from the gateway or a partner is put
// on the page as text (textContent), never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let me = null;          // {user, roles, csrf}
let agreements = [];    // from /v1/agreements
const TABS = [
  ['ask', 'Ask', ['operators']],
  ['results', 'My queries', ['operators']],
  ['approvals', 'Approvals', ['approvers', 'authorisers']],
  ['alerts', 'Alerts', ['operators']],
  ['partners', 'Partners', ['operators', 'admins']],
  ['audit', 'Audit', ['dpo']],
];
const TYPE_LABEL = {document: 'Travel document', name: 'Name and date of birth',
  name_fuzzy: 'Name, similar spellings (fuzzy)', locator: 'Booking (record locator)',
  flight: 'Flight'};

// el('p', {class: 'x'}, 'text', child...): an element with text children only.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(typeof k === 'string' || typeof k === 'number' ? document.createTextNode(String(k)) : k);
  }
  return e;
}

function notice(text, ok) {
  const n = $('notice');
  n.textContent = text;
  n.className = ok ? 'ok' : '';
  n.hidden = !text;
}

async function api(method, path, body) {
  const opt = {method, headers: {}, credentials: 'same-origin'};
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  if (method !== 'GET' && me && me.csrf) opt.headers['X-CSRF-Token'] = me.csrf;
  const r = await fetch(path, opt);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) {
    const err = new Error(j && j.error ? j.error.code + ': ' + j.error.detail : 'HTTP ' + r.status);
    err.status = r.status;
    err.code = j && j.error ? j.error.code : '';
    if (r.status === 401 && path !== '/v1/session') signedOut('Your session ended: sign in again.');
    throw err;
  }
  return j;
}

const has = (...roles) => me && roles.some((r) => me.roles.includes(r));
const when = (ms) => ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';

// ---- signing in and out ----

function signedOut(msg) {
  me = null;
  $('who').hidden = true;
  $('tabs').hidden = true;
  document.querySelectorAll('.tab').forEach((t) => { t.hidden = true; });
  $('sign-in').hidden = false;
  notice(msg || '', false);
}

function signedIn(s) {
  me = s;
  $('sign-in').hidden = true;
  $('who').hidden = false;
  $('who-name').textContent = s.user;
  $('who-roles').textContent = '(' + s.roles.join(', ') + ')';
  const nav = $('tabs');
  nav.replaceChildren();
  nav.setAttribute('role', 'tablist');
  let first = null;
  for (const [id, label, roles] of TABS) {
    if (!has(...roles)) continue;
    const b = el('button', {type: 'button', role: 'tab', id: 'tab-' + id, 'aria-controls': id}, label);
    b.addEventListener('click', () => show(id));
    nav.append(b);
    first = first || id;
  }
  nav.hidden = false;
  if (first) show(first);
}

function show(id) {
  document.querySelectorAll('.tab').forEach((t) => { t.hidden = t.id !== id; });
  document.querySelectorAll('#tabs button').forEach((b) => {
    b.setAttribute('aria-selected', b.id === 'tab-' + id ? 'true' : 'false');
  });
  notice('');
  ({ask: loadAsk, results: loadResults, approvals: loadApprovals, alerts: loadAlerts,
    partners: loadPartners, audit: () => {}})[id]();
}

$('sign-in-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const s = await api('POST', '/v1/session', {user: $('si-user').value, password: $('si-password').value});
    $('si-password').value = '';
    signedIn(s);
  } catch (e) {
    $('si-password').value = '';
    notice(e.code === 'TOO_MANY_ATTEMPTS' ? e.message.replace(/^[A-Z_]+: /, '') : 'Sign-in failed: ' + e.message.replace(/^[A-Z_]+: /, ''));
  }
});

$('sign-out').addEventListener('click', async () => {
  try { await api('DELETE', '/v1/session'); } catch (e) { /* ended already */ }
  sessionStorage.removeItem('asked');
  signedOut('Signed out.');
});

// ---- asking ----

async function loadAsk() {
  const r = await api('GET', '/v1/agreements').catch((e) => { notice(e.message); return {agreements: []}; });
  agreements = (r.agreements || []).filter((a) => a.state === 'in force' && (a.ask_purposes || []).length);
  const to = $('ask-to');
  to.replaceChildren();
  for (const a of agreements) to.append(el('option', {value: a.peer}, a.peer + ' (agreement ' + a.id + ')'));
  if (agreements.length > 1) to.append(el('option', {value: 'all'}, 'All partners whose terms allow it'));
  if (!agreements.length) notice('No agreement in force lets this gateway ask a partner.');
  terms();
}

// What the chosen partner's agreement allows (for "all": what any allows).
function allowed() {
  const v = $('ask-to').value;
  const list = v === 'all' ? agreements : agreements.filter((a) => a.peer === v);
  const u = (k) => [...new Set(list.flatMap((a) => a[k] || []))];
  return {purposes: u('ask_purposes'), types: u('ask_query_types'), categories: u('ask_categories'),
    justification: list.some((a) => a.ask_justification_required)};
}

function terms() {
  const t = allowed();
  const p = $('ask-purpose'), ty = $('ask-type');
  p.replaceChildren(...t.purposes.map((x) => el('option', {value: x}, x.replace('_', ' '))));
  ty.replaceChildren(...t.types.filter((x) => TYPE_LABEL[x]).map((x) => el('option', {value: x}, TYPE_LABEL[x])));
  $('ask-terms').textContent = t.categories.length ? 'May be answered with: ' + t.categories.join(', ') : '';
  $('ask-why').required = t.justification;
  criteria();
}

function criteria() {
  const ty = $('ask-type').value;
  const box = ty === 'name_fuzzy' ? 'name' : ty;
  document.querySelectorAll('#ask .criteria').forEach((f) => { f.hidden = f.id !== 'f-' + box; });
}

$('ask-to').addEventListener('change', terms);
$('ask-type').addEventListener('change', criteria);

$('ask-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const ty = $('ask-type').value;
  const body = {to: $('ask-to').value, purpose: $('ask-purpose').value,
    case_reference: $('ask-case').value, justification: $('ask-why').value};
  if ($('ask-offence').value) body.offence = $('ask-offence').value;
  if (ty === 'document') body.document = {number: $('doc-number').value, issuing_state: $('doc-issuer').value.toUpperCase()};
  else if (ty === 'name' || ty === 'name_fuzzy') body.name = {surname: $('name-surname').value, given_names: $('name-given').value, date_of_birth: $('name-dob').value, fuzzy: ty === 'name_fuzzy'};
  else if (ty === 'locator') body.locator = {record_locator: $('loc-pnr').value};
  else if (ty === 'flight') body.flight = {carrier: $('fl-carrier').value, flight_number: $('fl-number').value, departure_date: $('fl-date').value};
  const out = $('ask-result');
  out.replaceChildren(el('p', {class: 'muted'}, 'Asking…'));
  $('ask-send').disabled = true;
  try {
    const r = await api('POST', '/v1/queries', body);
    out.replaceChildren(...(r.answers || []).map(answer));
    const asked = JSON.parse(sessionStorage.getItem('asked') || '[]');
    for (const a of r.answers || []) {
      if (a.request_id) asked.unshift({id: a.request_id, peer: a.peer, case: body.case_reference, outcome: a.outcome});
    }
    sessionStorage.setItem('asked', JSON.stringify(asked.slice(0, 100)));
  } catch (e) {
    out.replaceChildren(el('p', {class: 'answer'}, e.message));
  } finally {
    $('ask-send').disabled = false;
  }
});

// ---- answers ----

function fields(obj) {
  const dl = el('dl');
  for (const [k, v] of Object.entries(obj)) {
    let text;
    if (Array.isArray(v)) text = v.map((x) => (typeof x === 'object' ? Object.entries(x).map(([a, b]) => (a.endsWith('_ms') ? when(b) : b)).join(' ') : x)).join('; ');
    else if (typeof v === 'object') text = Object.entries(v).map(([a, b]) => a + ' ' + b).join(', ');
    else text = k.endsWith('_ms') ? when(v) : String(v);
    dl.append(el('dt', {}, k.replace(/_ms$/, '').replace(/_/g, ' ')), el('dd', {}, text));
  }
  return dl;
}

const CAT_KEYS = ['api_identity', 'api_document', 'api_flight', 'api_travel', 'pnr_booking',
  'pnr_contact', 'pnr_payment', 'pnr_itinerary', 'pnr_agency', 'pnr_frequent_flyer',
  'pnr_co_travellers', 'pnr_seat_baggage', 'pnr_remarks'];

function match(m, i) {
  const d = el('div', {class: 'match'}, el('strong', {}, 'Match ' + (i + 1) + ' '));
  if (m.score !== undefined && m.score < 1) d.append(el('span', {class: 'badge'}, 'score ' + Number(m.score).toFixed(2)), ' ');
  if (m.needs_review) d.append(el('span', {class: 'badge review'}, 'needs review'), ' ');
  if (m.masked) d.append(el('span', {class: 'badge masked'}, 'MASKED: ' + (m.masked_categories || []).join(', ')), ' ');
  if (m.matched_on) d.append(el('span', {class: 'muted'}, 'matched on ' + m.matched_on.join(', ')));
  for (const k of CAT_KEYS) {
    if (!m[k]) continue;
    d.append(el('div', {class: 'cat'}, el('span', {class: 'name'}, k.replace('_', '.')), fields(m[k])));
  }
  return d;
}

function answer(a) {
  const res = a.result || {};
  const st = res.status || a.outcome || 'unknown';
  const box = el('div', {class: 'answer ' + st},
    el('strong', {}, a.peer || ''), ' ',
    el('span', {class: 'badge' + (st === 'hit' ? ' hit' : '')}, st.replace('_', ' ').toUpperCase()), ' ',
    el('span', {class: 'muted'}, (a.outcome || '') + (a.agreement_id ? ' · agreement ' + a.agreement_id : '') + (a.request_id ? ' · request ' + a.request_id : '')));
  if (a.error) box.append(el('p', {}, (a.error.code || '') + ': ' + (a.error.detail || '')));
  if (a.detail) box.append(el('p', {class: 'muted'}, a.detail));
  if (res.status === 'pending') box.append(el('p', {}, 'Held for a decision at ' + a.peer + ' (' + (res.approval_ref || '') + '). Collect it from "My queries".'));
  if (res.denial_reason) box.append(el('p', {}, 'Denied: ' + res.denial_reason));
  if (res.handling_code || res.onward_transfer) box.append(el('p', {class: 'muted'}, 'Handling ' + (res.handling_code || '') + ' · onward transfer ' + (res.onward_transfer || '') + ' · disclosure ' + (res.disclosure || '')));
  if (res.match_count !== undefined) box.append(el('p', {}, res.match_count + ' match' + (res.match_count === 1 ? '' : 'es') + (res.truncated ? ' (more than shown)' : '')));
  (res.matches || []).forEach((m, i) => box.append(match(m, i)));
  return box;
}

// ---- my queries ----

function loadResults() {
  const tb = $('results-table').tBodies[0];
  const asked = JSON.parse(sessionStorage.getItem('asked') || '[]');
  tb.replaceChildren(...asked.map((q) => {
    const b = el('button', {type: 'button', class: 'secondary'}, 'Collect');
    b.addEventListener('click', () => collect(q.id));
    return el('tr', {}, el('td', {}, q.id.slice(0, 12) + '…'), el('td', {}, q.peer), el('td', {}, q.case || ''), el('td', {}, q.outcome || ''), el('td', {}, b));
  }));
}

async function collect(id) {
  const out = $('results-detail');
  out.replaceChildren(el('p', {class: 'muted'}, 'Collecting (waiting up to 15 s for a decision)…'));
  try {
    const r = await api('GET', '/v1/queries/' + encodeURIComponent(id) + '?wait=15');
    // The table says what the answer is now.
    const asked = JSON.parse(sessionStorage.getItem('asked') || '[]');
    for (const q of asked) {
      const a = (r.answers || []).find((x) => x.request_id === q.id);
      if (a) q.outcome = (a.result && a.result.status) || a.outcome;
    }
    sessionStorage.setItem('asked', JSON.stringify(asked));
    loadResults();
    out.replaceChildren(...(r.answers || []).map(answer));
  } catch (e) {
    out.replaceChildren(el('p', {class: 'answer'}, e.message));
  }
}

// ---- approvals ----

async function loadApprovals() {
  const list = $('approvals-list');
  let r;
  try { r = await api('GET', '/v1/pending'); } catch (e) { list.replaceChildren(el('p', {}, e.message)); return; }
  const items = r.items || [];
  if (!items.length) { list.replaceChildren(el('p', {class: 'muted'}, 'Nothing is waiting.')); return; }
  list.replaceChildren(...items.map((it) => {
    const kind = it.kind === 'unmask' ? 'UNMASKING for ' : it.kind === 'notification' ? 'Notification to ' : 'Query from ';
    const box = el('div', {class: 'item'}, el('strong', {}, kind + it.peer), ' ', el('span', {class: 'muted'}, it.approval_ref));
    box.append(fields(Object.fromEntries(Object.entries({agreement: it.agreement_id, purpose: it.purpose,
      offence: it.offence, case: it.case_reference, justification: it.justification, 'searched by': it.query_type,
      received_ms: it.received_at_ms, authorisation: it.authorisation_reference, authority: it.authority,
      'requested by': it.requested_by}).filter(([, v]) => v !== undefined && v !== ''))));
    if (it.needs_review) box.append(el('span', {class: 'badge review'}, 'FUZZY MATCH: review'));
    const reason = el('input', {'aria-label': 'Reason to deny ' + it.approval_ref, placeholder: 'reason (to deny)'});
    const auth = it.kind === 'unmask' ? el('input', {'aria-label': 'Authorisation reference for ' + it.approval_ref, placeholder: 'authorisation reference (to approve)'}) : null;
    const ok = el('button', {type: 'button'}, 'Approve');
    const no = el('button', {type: 'button', class: 'danger'}, 'Deny');
    ok.addEventListener('click', () => decide(it.approval_ref, 'approve', auth ? {authorisation: auth.value} : {}));
    no.addEventListener('click', () => decide(it.approval_ref, 'deny', {reason: reason.value}));
    if (auth) box.append(auth);
    box.append(reason, ' ', ok, ' ', no);
    return box;
  }));
}

async function decide(ref, how, body) {
  try {
    const r = await api('POST', '/v1/pending/' + encodeURIComponent(ref) + '/' + how, body);
    notice((how === 'approve' ? 'Approved ' : 'Denied ') + ref + (r.status ? ': ' + r.status.replace('_', ' ') : ''), true);
  } catch (e) {
    notice(e.message);
  }
  loadApprovals();
}

// ---- alerts and lookouts ----

async function loadAlerts() {
  try {
    const r = await api('GET', '/v1/alerts?all=1');
    const al = r.alerts || [];
    $('alerts-list').replaceChildren(...(al.length ? al.map((a) => {
      const box = el('div', {class: 'item'}, el('strong', {}, 'From ' + a.peer), ' ',
        el('span', {class: 'badge' + (a.state === 'new' ? ' hit' : '')}, a.state || ''), ' ',
        el('span', {class: 'muted'}, 'lookout ' + (a.lookout_reference || '') + ' · case ' + (a.case_reference || '') + ' · ' + when(a.received_at_ms)));
      const n = a.notification || {};
      if (n.flight) box.append(fields(n.flight));
      if (n.match) box.append(match(n.match, 0));
      if (a.state === 'new') {
        const b = el('button', {type: 'button', class: 'secondary'}, 'Mark seen');
        b.addEventListener('click', async () => { await api('POST', '/v1/alerts/' + encodeURIComponent(a.reference) + '/seen').catch((e) => notice(e.message)); loadAlerts(); });
        box.append(b);
      }
      return box;
    }) : [el('p', {class: 'muted'}, 'No alerts.')]));
    const l = (await api('GET', '/v1/lookouts')).lookouts || [];
    $('lookouts-list').replaceChildren(l.length ? el('table', {},
      el('thead', {}, el('tr', {}, ...['Reference', 'Partner', 'Ours', 'State', 'Expires', 'Notifications'].map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', {}, ...l.map((x) => el('tr', {}, el('td', {}, x.reference), el('td', {}, x.peer),
        el('td', {}, x.incoming ? 'held for them' : 'ours'), el('td', {}, (x.state || '').replace('lookout_state_', '')),
        el('td', {}, when(x.expires_at_ms)), el('td', {}, String(x.notifications || 0)))))) : el('p', {class: 'muted'}, 'No lookouts.'));
  } catch (e) {
    notice(e.message);
  }
}

// ---- partners ----

async function loadPartners() {
  const tb = $('agreements-table').tBodies[0];
  try {
    const r = await api('GET', '/v1/agreements');
    tb.replaceChildren(...(r.agreements || []).map((a) => el('tr', {}, el('td', {}, a.id), el('td', {}, a.peer),
      el('td', {}, a.state), el('td', {}, String(a.days_left ?? 0)),
      el('td', {}, (a.ask_purposes || []).join(', ') + ' · ' + (a.ask_query_types || []).join(', ')))));
  } catch (e) {
    notice(e.message);
  }
  if (!has('admins')) { $('status-box').replaceChildren(); return; }
  try {
    const s = await api('GET', '/v1/status');
    $('status-box').replaceChildren(el('h3', {}, 'Gateway ' + s.gateway_id), fields({
      software: s.software, directory_serial: s.directory_serial, directory_expires: s.directory_expires,
      pending_approvals: s.pending_approvals || 0, queries_in_flight: s.queries_in_flight || 0,
      audit_records: s.audit_head || 0, store_rows: s.store_rows || 0,
      partners_connected: (s.peers || []).filter((p) => p.connected).map((p) => p.id).join(', ') || 'none'}));
  } catch (e) {
    notice(e.message);
  }
}

// ---- audit ----

$('audit-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('audit-list');
  try {
    const r = await api('POST', '/v1/audit/subject', {document: $('au-doc').value, issuer: $('au-issuer').value.toUpperCase()});
    const recs = r.records || [];
    out.replaceChildren(el('p', {}, recs.length + ' record' + (recs.length === 1 ? '' : 's') + ' (of ' + (r.scanned || 0) + ' read)'),
      el('table', {}, el('thead', {}, el('tr', {}, ...['#', 'Time', 'Event', 'Partner', 'Agreement', 'Case', 'By', 'Detail'].map((h) => el('th', {scope: 'col'}, h)))),
        el('tbody', {}, ...recs.map((x) => el('tr', {}, el('td', {}, String(x.seq)), el('td', {}, when(x.time_ms)),
          el('td', {}, (x.event || '').replace(/_/g, ' ')), el('td', {}, x.peer || ''), el('td', {}, x.agreement_id || ''),
          el('td', {}, x.case_reference || ''), el('td', {}, (x.operator || '') + (x.via ? ' (' + x.via + ')' : '')),
          el('td', {}, x.detail || ''))))));
  } catch (e) {
    out.replaceChildren(el('p', {}, e.message));
  }
});

$('report-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const a = $('report-link');
  a.href = '/v1/audit/report?' + new URLSearchParams({from: $('rp-from').value, to: $('rp-to').value,
    format: $('rp-format').value});
  a.textContent = 'The report of ' + $('rp-from').value + ' to ' + $('rp-to').value + ' (' + $('rp-format').value + ')';
  a.hidden = false;
  a.click();
});

function lastMonth() {
  const d = new Date();
  const to = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - 1));
  const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, d.getUTCDate()));
  $('rp-from').value = from.toISOString().slice(0, 10);
  $('rp-to').value = to.toISOString().slice(0, 10);
}
lastMonth();

// ---- start ----

api('GET', '/v1/session').then(signedIn).catch(() => signedOut(''));
