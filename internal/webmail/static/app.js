// letterbox web mail: a JMAP client (RFC 8620, RFC 8621) in plain
// JavaScript. It talks only to /jmap; the session cookie is HttpOnly and
// every state-changing request carries the CSRF token in X-CSRF-Token.
'use strict';

const PAGE = 50;
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];
const $ = (id) => document.getElementById(id);

const st = {
  csrf: '', user: '', session: null, account: '',
  mailboxes: [], byRole: {}, current: '', search: '', carry: [],
  threads: localStorage.getItem('lb.threads') === '1', open: null, events: null, replyTo: null,
};

function status(text) { $('status').textContent = text; }

// setError is the first SetError of a /set response's not… map, or null.
function setError(m) {
  const v = m ? Object.values(m) : [];
  return v.length ? v[0] : null;
}

async function http(method, url, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = st.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { showLogin(); throw new Error('logged out'); }
  if (!r.ok) throw new Error((await r.text()).trim() || r.statusText);
  return r.status === 204 ? null : r.json();
}

// jmap sends method calls [[name, args], …] in one request and returns the
// responses' arguments, throwing on a method-level error.
async function jmap(calls) {
  const req = { using: USING, methodCalls: calls.map((c, i) => [c[0], Object.assign({ accountId: st.account }, c[1]), String(i)]) };
  const res = await http('POST', st.session.apiUrl, req);
  return res.methodResponses.map(([name, args]) => {
    if (name === 'error') throw new Error(args.type + (args.description ? ': ' + args.description : ''));
    return args;
  });
}

// ---- login ----

function showLogin(msg) {
  if (st.events) { st.events.close(); st.events = null; }
  // Nothing of the last user stays for the next one.
  st.ident = null; st.contactMap = null; st.trusted = null; st.draftId = null; st.open = null;
  clearTimeout(st.draftTimer); st.draftTimer = null;
  $('reader').hidden = $('composer').hidden = $('settings').hidden = true;
  $('app').classList.remove('reading');
  $('msg-html').removeAttribute('src');
  sel.clear(); lst = newList(); $('messages').replaceChildren();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('login-user').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const r = await fetch('/jmap/web/login', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: $('login-user').value, password: $('login-pass').value }) });
    if (!r.ok) throw new Error((await r.text()).trim());
    $('login-pass').value = '';
    await start(await r.json());
  } catch (err) {
    $('login-error').textContent = err.message || 'login failed';
  } finally {
    $('login-submit').disabled = false;
  }
});

$('logout-btn').addEventListener('click', async () => {
  try { await http('POST', '/jmap/web/logout'); } catch (e) { /* already out */ }
  st.csrf = ''; st.session = null;
  location.hash = '';
  showLogin('You are logged out.');
});

async function start(who) {
  st.csrf = who.csrfToken;
  st.user = who.username;
  st.session = await http('GET', '/.well-known/jmap');
  st.account = st.session.primaryAccounts['urn:ietf:params:jmap:mail'];
  $('whoami').textContent = st.user;
  $('threads-btn').setAttribute('aria-pressed', String(st.threads));
  $('login').hidden = true;
  $('app').hidden = false;
  // The list needs only the folder's id: a Mailbox/get of names and
  // roles (no counts, cheap) finds it, and the list loads while the
  // folder list with its counts loads beside it.
  const [r] = await jmap([['Mailbox/get', { properties: ['name', 'role'] }]]);
  const h = new URLSearchParams(location.hash.slice(1));
  const inbox = r.list.find((m) => m.role === 'inbox') || r.list[0] || {};
  st.current = r.list.some((m) => m.id === h.get('mb')) ? h.get('mb') : inbox.id;
  st.mailboxes = r.list;
  await Promise.all([resetList(), loadMailboxes()]);
  if (h.get('msg')) openMessage(h.get('msg')).catch(() => {});
  listen();
}

// ---- mailboxes ----

const roleOrder = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];

async function loadMailboxes() {
  const [r] = await jmap([['Mailbox/get', { properties: ['name', 'role', 'unreadEmails', 'totalEmails', 'parentId', 'sortOrder'] }]]);
  const rank = (m) => (m.role && roleOrder.includes(m.role) ? roleOrder.indexOf(m.role) : 100 + m.sortOrder);
  st.mailboxes = r.list.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  st.byRole = {};
  for (const m of st.mailboxes) if (m.role) st.byRole[m.role] = m.id;
  const ul = $('folders');
  ul.replaceChildren();
  const sel = $('move-to');
  const chosen = sel.value; // a refresh keeps the user's choice
  sel.replaceChildren();
  for (const m of st.mailboxes) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#mb=' + encodeURIComponent(m.id);
    a.dataset.id = m.id;
    a.dataset.role = m.role || '';
    const name = document.createElement('span');
    name.textContent = m.name;
    a.append(name);
    if (m.unreadEmails > 0) {
      const c = document.createElement('span');
      c.className = 'count';
      c.textContent = m.unreadEmails;
      c.setAttribute('aria-label', m.unreadEmails + ' unread');
      a.append(c);
    }
    if (m.id === st.current && !st.search) a.setAttribute('aria-current', 'true');
    a.addEventListener('click', (e) => {
      e.preventDefault();
      st.current = m.id; st.search = ''; $('search').value = '';
      closeReader();
      resetList().then(loadMailboxes);
    });
    li.append(a);
    ul.append(li);
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = m.name;
    sel.append(o);
  }
  if (st.mailboxes.some((m) => m.id === chosen)) sel.value = chosen;
  const bsel = $('bulk-move-to');
  const bchosen = bsel.value;
  bsel.replaceChildren(...[...sel.options].map((o) => o.cloneNode(true)));
  if (st.mailboxes.some((m) => m.id === bchosen)) bsel.value = bchosen;
  const cur = st.mailboxes.find((m) => m.id === st.current);
  $('folder-rename').disabled = $('folder-delete').disabled = !cur || !!cur.role || !!st.search;
}

// Folder management (Mailbox/set, RFC 8621 §2.5): create at the top
// level, rename or delete the selected folder. Special-use folders are not
// renamed or deleted from here; a folder with mail is not deleted (the
// server answers mailboxHasEmail).
async function mailboxSet(args, ok) {
  const [r] = await jmap([['Mailbox/set', args]]);
  const e = setError(r.notCreated) || setError(r.notUpdated) || setError(r.notDestroyed);
  if (e) throw new Error(e.type === 'mailboxHasEmail' ? 'The folder is not empty.' : (e.description || e.type));
  status(ok);
  return r;
}

function folderName() {
  const n = $('folder-name').value.trim();
  if (!n) throw new Error('Enter a folder name.');
  return n;
}

function currentPlain() {
  const m = st.mailboxes.find((x) => x.id === st.current);
  if (!m || m.role) throw new Error('Choose a folder of your own first.');
  return m;
}

$('folder-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const r = await mailboxSet({ create: { f: { name: folderName(), parentId: null } } }, 'Folder created.');
    st.current = r.created.f.id; st.search = ''; sel.clear();
    $('folder-name').value = '';
    closeReader();
    await Promise.all([loadMailboxes(), loadList()]);
  } catch (err) { status(err.message); }
});

$('folder-rename').addEventListener('click', async () => {
  try {
    const m = currentPlain();
    await mailboxSet({ update: { [m.id]: { name: folderName() } } }, 'Folder renamed.');
    $('folder-name').value = '';
    await Promise.all([loadMailboxes(), loadList()]);
  } catch (err) { status(err.message); }
});

$('folder-delete').addEventListener('click', async () => {
  try {
    const m = currentPlain();
    await mailboxSet({ destroy: [m.id] }, 'Folder deleted.');
    st.current = st.byRole.inbox; sel.clear();
    closeReader();
    await Promise.all([loadMailboxes(), loadList()]);
  } catch (err) { status(err.message); }
});

// ---- message list ----

function fmtAddr(list) {
  return (list || []).map((a) => (a.name ? a.name + ' <' + a.email + '>' : a.email)).join(', ');
}

function fmtDate(s) {
  const d = new Date(s);
  const now = new Date();
  return d.toDateString() === now.toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString();
}

// sortSpec is the Email/query sort of the Sort by choice; the
// newest first breaks ties.
function sortSpec() {
  const [property, dir] = $('sort-by').value.split(':');
  const s = [{ property, isAscending: dir === 'asc' }];
  if (property !== 'receivedAt') s.push({ property: 'receivedAt', isAscending: false });
  return s;
}

$('sort-by').addEventListener('change', () => { resetList().catch((err) => status(err.message)); });

// The list is virtualised: rows have a fixed height (ROW, the CSS
// --row), the <ul> is as tall as all the results, and only the rows in
// view (plus a margin) are in the DOM. Rows are fetched PAGE at a time by
// position (Email/query position/limit with a back-referenced Email/get),
// so a 100,000-message folder costs the same as a 100-message one. In
// conversation mode the query collapses threads (RFC 8621 §4.4.3) and a
// Thread/get gives each row its conversation's size.
const ROW = 58;
function newList() {
  return { total: 0, byPos: [], emails: new Map(), threads: new Map(), loaded: new Set(), pending: new Map(), els: new Map() };
}
let lst = newList();
const sel = new Set(); // selected row ids (a row is a thread in conversation mode)
let anchor = -1; // position of the last checkbox clicked, for shift-click

function queryArgs() {
  return { filter: st.search ? { text: st.search } : { inMailbox: st.current }, sort: sortSpec(), collapseThreads: st.threads };
}

// loadChunk fetches the rows [start, start + PAGE) into list l.
function loadChunk(l, start) {
  if (l.loaded.has(start)) return Promise.resolve();
  if (l.pending.has(start)) return l.pending.get(start);
  const p = (async () => {
    const calls = [
      ['Email/query', Object.assign(queryArgs(), { position: start, limit: PAGE, calculateTotal: true })],
      ['Email/get', { '#ids': { resultOf: '0', name: 'Email/query', path: '/ids' }, properties: ['subject', 'from', 'receivedAt', 'keywords', 'preview', 'mailboxIds', 'threadId', 'hasAttachment'] }],
    ];
    if (st.threads) calls.push(['Thread/get', { '#ids': { resultOf: '1', name: 'Email/get', path: '/list/*/threadId' } }]);
    const [q, g, th] = await jmap(calls);
    l.total = q.total;
    for (const m of g.list) l.emails.set(m.id, m);
    q.ids.forEach((id, i) => { l.byPos[start + i] = id; });
    if (th) for (const t of th.list) l.threads.set(t.id, t.emailIds);
    l.loaded.add(start);
  })();
  l.pending.set(start, p);
  return p.finally(() => l.pending.delete(start));
}

function visibleRange() {
  const sc = $('list-scroll');
  const first = Math.max(0, Math.floor(sc.scrollTop / ROW) - 5);
  const last = Math.min(lst.total, Math.ceil((sc.scrollTop + (sc.clientHeight || 600)) / ROW) + 5);
  return [first, last];
}

function chunksOf(first, last) {
  const out = [];
  for (let c = Math.floor(first / PAGE) * PAGE; c < Math.max(last, 1); c += PAGE) out.push(c);
  return out;
}

// loadList re-reads the rows in view after a change (new mail, a flag,
// a move) and keeps the scroll position; resetList starts a new query
// (folder, search, sort, conversation mode) at the top.
let listSeq = 0;
async function loadList() {
  const seq = ++listSeq;
  const l = newList();
  const [first, last] = visibleRange();
  await Promise.all(chunksOf(first, Math.max(last, first + 1)).map((c) => loadChunk(l, c)));
  if (seq !== listSeq) return; // a later load is under way; it renders
  l.ready = true;
  lst = l;
  for (const id of [...sel]) if (!l.emails.has(id) && !l.byPos.includes(id)) sel.delete(id);
  renderList();
}

async function resetList() {
  sel.clear(); anchor = -1;
  $('list-scroll').scrollTop = 0;
  await loadList();
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderList(); });
}

$('list-scroll').addEventListener('scroll', scheduleRender, { passive: true });

function renderList() {
  const mb = st.mailboxes.find((m) => m.id === st.current);
  $('list-title').textContent = st.search ? 'Search: ' + st.search : (mb ? mb.name : '');
  const noun = st.threads ? ' conversation' : ' message';
  $('list-count').textContent = lst.total ? '(' + lst.total + noun + (lst.total === 1 ? '' : 's') + ')' : '(empty)';
  const ul = $('messages');
  ul.style.height = (lst.total * ROW) + 'px';
  const [first, last] = visibleRange();
  const want = [];
  for (let i = first; i < last; i++) {
    const id = lst.byPos[i];
    const key = i + ':' + (id || '');
    let li = lst.els.get(key);
    if (!li) { li = rowElement(i, id); lst.els.set(key, li); }
    want.push(li);
  }
  const keep = new Set(want);
  for (const li of [...ul.children]) if (!keep.has(li)) li.remove();
  want.forEach((li, i) => { if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null); });
  // Rows scrolled into view are fetched; a list not yet loaded (a login
  // under way) is left to loadList.
  if (lst.ready) for (const c of chunksOf(first, last)) if (!lst.loaded.has(c)) loadChunk(lst, c).then(scheduleRender, (err) => status(err.message));
  updateBulk();
}

function rowElement(pos, id) {
  const li = document.createElement('li');
  li.style.top = (pos * ROW) + 'px';
  li.setAttribute('aria-posinset', pos + 1);
  li.setAttribute('aria-setsize', lst.total);
  const m = id && lst.emails.get(id);
  if (!m) {
    li.className = 'loading';
    li.textContent = 'Loading…';
    return li;
  }
  li.dataset.id = id;
  if (!m.keywords.$seen) li.classList.add('unread');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.className = 'pick';
  box.checked = sel.has(id);
  box.setAttribute('aria-label', 'Select: ' + (m.subject || '(no subject)'));
  box.addEventListener('click', (e) => pick(pos, id, box.checked, e.shiftKey));
  const a = document.createElement('a');
  a.href = '#mb=' + encodeURIComponent(st.current) + '&msg=' + encodeURIComponent(id);
  a.dataset.id = id;
  if (st.open && st.open.id === id) a.setAttribute('aria-current', 'true');
  const l1 = document.createElement('span');
  l1.className = 'line1';
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = fmtAddr(m.from) || '(no sender)';
  const date = document.createElement('span');
  date.className = 'date';
  date.textContent = fmtDate(m.receivedAt);
  l1.append(from, date);
  if (m.keywords.$flagged) {
    const f = document.createElement('span');
    f.className = 'flag';
    f.textContent = '★';
    f.setAttribute('aria-label', 'flagged');
    l1.prepend(f);
  }
  const subj = document.createElement('span');
  subj.className = 'subj';
  subj.textContent = m.subject || '(no subject)';
  const n = st.threads ? (lst.threads.get(m.threadId) || []).length : 0;
  if (n > 1) {
    const c = document.createElement('span');
    c.className = 'thread-count';
    c.textContent = n;
    c.setAttribute('aria-label', n + ' messages in the conversation');
    l1.prepend(c);
  }
  a.append(l1, subj);
  a.title = m.preview || '';
  a.addEventListener('click', (e) => { e.preventDefault(); openMessage(id).catch((err) => status(err.message)); });
  li.append(box, a);
  return li;
}

// pick selects or unselects a row; with shift, every loaded row between
// the last one picked and this one too.
function pick(pos, id, on, shift) {
  if (shift && anchor >= 0) {
    for (let i = Math.min(anchor, pos); i <= Math.max(anchor, pos); i++) {
      const x = lst.byPos[i];
      if (x) { if (on) sel.add(x); else sel.delete(x); }
    }
  } else if (on) sel.add(id); else sel.delete(id);
  anchor = pos;
  for (const b of document.querySelectorAll('#messages li[data-id] .pick')) b.checked = sel.has(b.parentElement.dataset.id);
  updateBulk();
}

function updateBulk() {
  $('bulk').hidden = sel.size === 0;
  $('bulk-count').textContent = sel.size + ' selected';
}

// selectedEmails expands the selection to Emails (a conversation's
// Emails in conversation mode) with their mailboxIds.
async function selectedEmails() {
  let ids = [...sel];
  if (st.threads) {
    ids = ids.flatMap((id) => { const m = lst.emails.get(id); return (m && lst.threads.get(m.threadId)) || [id]; });
  }
  const [g] = await jmap([['Email/get', { ids: [...new Set(ids)], properties: ['mailboxIds', 'keywords'] }]]);
  return g.list;
}

// bulk applies one change to every selected Email. Moves take the
// Emails out of the folder shown (in a search: out of every folder);
// in conversation mode only the conversation's Emails in that folder move.
async function bulk(kind, target) {
  const n = sel.size;
  const emails = await selectedEmails();
  const update = {}, destroy = [];
  const here = (m) => st.search || m.mailboxIds[st.current];
  const move = (m, to) => {
    if (st.search) return { mailboxIds: { [to]: true } };
    return { ['mailboxIds/' + st.current]: null, ['mailboxIds/' + to]: true };
  };
  for (const m of emails) {
    switch (kind) {
      case 'read': update[m.id] = { 'keywords/$seen': true }; break;
      case 'unread': update[m.id] = { 'keywords/$seen': null }; break;
      case 'flag': update[m.id] = { 'keywords/$flagged': true }; break;
      case 'unflag': update[m.id] = { 'keywords/$flagged': null }; break;
      case 'move':
        if (here(m) && !(m.mailboxIds[target] && Object.keys(m.mailboxIds).length === 1)) update[m.id] = move(m, target);
        break;
      case 'delete': {
        const trash = st.byRole.trash;
        if (!here(m)) break;
        if (!trash || m.mailboxIds[trash]) destroy.push(m.id); else update[m.id] = move(m, trash);
        break;
      }
    }
  }
  const [r] = await jmap([['Email/set', { update, destroy }]]);
  const e = setError(r.notUpdated) || setError(r.notDestroyed);
  if (e) throw new Error(e.description || e.type);
  if (kind === 'move' || kind === 'delete') { sel.clear(); if (st.open && (r.updated || {})[st.open.id] !== undefined) closeReader(); }
  await Promise.all([loadMailboxes(), loadList()]);
  const done = { read: 'Marked read', unread: 'Marked unread', flag: 'Flagged', unflag: 'Unflagged', move: target === st.byRole.archive ? 'Archived' : 'Moved', delete: 'Deleted' }[kind];
  status(done + ': ' + n + (n === 1 ? ' item.' : ' items.'));
}

for (const [btn, kind] of [['bulk-read', 'read'], ['bulk-unread', 'unread'], ['bulk-flag', 'flag'], ['bulk-unflag', 'unflag'], ['bulk-delete', 'delete']]) {
  $(btn).addEventListener('click', () => bulk(kind).catch((err) => status(err.message)));
}
$('bulk-archive').addEventListener('click', () => {
  if (!st.byRole.archive) { status('This account has no Archive folder.'); return; }
  bulk('move', st.byRole.archive).catch((err) => status(err.message));
});
$('bulk-move').addEventListener('click', () => bulk('move', $('bulk-move-to').value).catch((err) => status(err.message)));
$('bulk-clear').addEventListener('click', () => { sel.clear(); anchor = -1; renderList(); for (const b of document.querySelectorAll('#messages .pick')) b.checked = false; });

$('threads-btn').addEventListener('click', () => {
  st.threads = !st.threads;
  localStorage.setItem('lb.threads', st.threads ? '1' : '');
  $('threads-btn').setAttribute('aria-pressed', String(st.threads));
  closeReader();
  resetList().catch((err) => status(err.message));
});

$('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  st.search = $('search').value.trim();
  closeReader();
  resetList().then(loadMailboxes).catch((err) => status(err.message));
});

// ---- reading ----

// The HTML body is sanitised on the server (GET /jmap/web/html/{id}:
// bluemonday with a mail policy, cid: images inlined, remote images held
// back) and loaded into an iframe sandboxed without allow-scripts or
// allow-same-origin, under the document's own no-script CSP. Remote
// images load only when the user asks (once, or always for the sender:
// a server-side setting of the account).
function htmlURL(id, images) {
  return '/jmap/web/html/' + encodeURIComponent(id) + (images ? '?images=1' : '');
}

async function showHTML(m) {
  $('msg-text').hidden = true;
  $('images-bar').hidden = true;
  $('msg-html').hidden = false;
  $('msg-html').src = htmlURL(m.id, false);
  const info = await http('GET', htmlURL(m.id, false) + '/info');
  if (!st.open || st.open.id !== m.id) return;
  st.open.sender = info.sender;
  if (info.blockedImages > 0 && !info.trusted) {
    $('images-note').textContent = info.blockedImages + (info.blockedImages === 1 ? ' remote image was' : ' remote images were') + ' not loaded.';
    $('images-always').textContent = 'Always load images from ' + info.sender;
    $('images-always').hidden = !info.sender;
    $('images-bar').hidden = false;
  }
}

$('images-once').addEventListener('click', () => {
  if (!st.open) return;
  $('msg-html').src = htmlURL(st.open.id, true);
  $('images-bar').hidden = true;
});

$('images-always').addEventListener('click', async () => {
  const m = st.open;
  if (!m || !m.sender) return;
  try {
    const cur = await http('GET', '/jmap/web/settings');
    await http('POST', '/jmap/web/settings', { trustedSenders: cur.trustedSenders.concat(m.sender) });
    $('msg-html').src = htmlURL(m.id, true); // a new URL, so the frame surely loads again
    $('images-bar').hidden = true;
    status('Images from ' + m.sender + ' will load.');
  } catch (err) { status(err.message); }
});

function closeReader() {
  st.open = null;
  $('reader').hidden = true;
  $('app').classList.remove('reading');
  $('msg-html').removeAttribute('src');
}

let openSeq = 0;
async function openMessage(id) {
  const seq = ++openSeq;
  const [g] = await jmap([['Email/get', { ids: [id],
    properties: ['subject', 'from', 'to', 'cc', 'replyTo', 'receivedAt', 'keywords', 'mailboxIds', 'messageId', 'references', 'textBody', 'htmlBody', 'bodyValues', 'attachments', 'blobId', 'threadId'],
    fetchTextBodyValues: true, maxBodyValueBytes: 1 << 20 }]]);
  if (seq !== openSeq) return; // another message was opened meanwhile
  const m = g.list[0];
  if (!m) { status('That message is gone.'); closeReader(); return; }
  st.open = m;
  $('composer').hidden = true;
  $('settings').hidden = true;
  $('reader').hidden = false;
  $('app').classList.add('reading');
  $('msg-subject').textContent = m.subject || '(no subject)';
  const dl = $('msg-headers');
  dl.replaceChildren();
  for (const [k, v] of [['From', fmtAddr(m.from)], ['To', fmtAddr(m.to)], ['Cc', fmtAddr(m.cc)], ['Date', new Date(m.receivedAt).toLocaleString()]]) {
    if (!v) continue;
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dl.append(dt, dd);
  }
  $('source-btn').setAttribute('aria-pressed', 'false');
  $('edit-draft-btn').hidden = !m.keywords.$draft;
  const flagged = !!m.keywords.$flagged;
  $('flag-btn').textContent = flagged ? 'Unflag' : 'Flag';
  $('flag-btn').setAttribute('aria-pressed', String(flagged));
  const ul = $('msg-attachments');
  ul.replaceChildren();
  const hasHTML = (m.htmlBody || []).some((p) => p.type === 'text/html');
  for (const p of m.attachments || []) {
    // An inline image with a Content-ID is part of the HTML body (shown
    // there through cid:), not an attachment to list.
    if (hasHTML && p.cid && p.disposition !== 'attachment' && /^image\//.test(p.type)) continue;
    // Downloaded as application/octet-stream with Content-Disposition:
    // attachment, so nothing an attacker attached renders in our origin.
    const name = p.name || 'attachment';
    const a = document.createElement('a');
    a.href = st.session.downloadUrl.replace('{accountId}', encodeURIComponent(st.account))
      .replace('{blobId}', encodeURIComponent(p.blobId)).replace('{name}', encodeURIComponent(name))
      .replace('{type}', encodeURIComponent('application/octet-stream'));
    a.download = name;
    a.textContent = name + ' (' + (p.size < 1024 ? p.size + ' B' : Math.round(p.size / 1024) + ' KB') + ')';
    const li = document.createElement('li');
    li.append(a);
    ul.append(li);
  }
  const html = (m.htmlBody || []).filter((p) => p.type === 'text/html');
  $('images-bar').hidden = true;
  if (html.length) {
    showHTML(m).catch((err) => status(err.message));
  } else {
    $('msg-html').hidden = true;
    $('msg-html').removeAttribute('src');
    $('msg-text').hidden = false;
    $('msg-text').textContent = (m.textBody || []).map((p) => (m.bodyValues[p.partId] || {}).value || '').join('\n\n');
  }
  $('move-to').value = st.current;
  history.replaceState(null, '', '#mb=' + encodeURIComponent(st.current) + '&msg=' + encodeURIComponent(id));
  for (const a of document.querySelectorAll('#messages a')) {
    if (a.dataset.id === id) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
  }
  if (st.threads) showThread(m).catch((err) => status(err.message)); else $('thread-list').hidden = true;
  if (!m.keywords.$seen) {
    await jmap([['Email/set', { update: { [id]: { 'keywords/$seen': true } } }]]);
    await Promise.all([loadMailboxes(), loadList()]);
  }
}

// showThread lists the open message's conversation (Thread/get, RFC
// 8621 §3), oldest first; each entry opens that message.
async function showThread(m) {
  const [t, g] = await jmap([
    ['Thread/get', { ids: [m.threadId] }],
    ['Email/get', { '#ids': { resultOf: '0', name: 'Thread/get', path: '/list/*/emailIds' }, properties: ['from', 'receivedAt', 'subject', 'keywords', 'preview'] }],
  ]);
  if (!st.open || st.open.id !== m.id) return;
  const ol = $('thread-list');
  const list = g.list.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  ol.hidden = list.length < 2;
  ol.replaceChildren(...list.map((x) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'thread-item' + (x.keywords.$seen ? '' : ' unread');
    if (x.id === m.id) b.setAttribute('aria-current', 'true');
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = fmtAddr(x.from) || '(no sender)';
    const when = document.createElement('span');
    when.className = 'date';
    when.textContent = fmtDate(x.receivedAt);
    const pv = document.createElement('span');
    pv.className = 'preview';
    pv.textContent = x.preview || x.subject || '';
    b.append(who, when, pv);
    b.addEventListener('click', () => openMessage(x.id).catch((err) => status(err.message)));
    li.append(b);
    return li;
  }));
}

async function moveOpen(target) {
  const m = st.open;
  const [r] = await jmap([['Email/set', { update: { [m.id]: { mailboxIds: { [target]: true } } } }]]);
  const e = setError(r.notUpdated);
  if (e) throw new Error(e.description || e.type);
  closeReader();
  await Promise.all([loadMailboxes(), loadList()]);
}

$('delete-btn').addEventListener('click', async () => {
  const m = st.open;
  if (!m) return;
  try {
    const trash = st.byRole.trash;
    if (!trash || m.mailboxIds[trash]) {
      const [r] = await jmap([['Email/set', { destroy: [m.id] }]]);
      const e = setError(r.notDestroyed);
      if (e) throw new Error(e.description || e.type);
      closeReader();
      await Promise.all([loadMailboxes(), loadList()]);
    } else {
      await moveOpen(trash);
    }
    status('Deleted.');
  } catch (err) { status(err.message); }
});

// Source shows the raw message (RFC 5322 text, headers included) as text;
// pressing it again shows the message again.
$('source-btn').addEventListener('click', async () => {
  const m = st.open;
  if (!m) return;
  if ($('source-btn').getAttribute('aria-pressed') === 'true') { openMessage(m.id).catch((err) => status(err.message)); return; }
  try {
    const url = st.session.downloadUrl.replace('{accountId}', encodeURIComponent(st.account))
      .replace('{blobId}', encodeURIComponent(m.blobId)).replace('{name}', 'message.eml')
      .replace('{type}', encodeURIComponent('text/plain'));
    const r = await fetch(url, { credentials: 'same-origin' });
    if (!r.ok) throw new Error((await r.text()).trim());
    $('msg-html').hidden = true;
    $('msg-html').removeAttribute('src');
    $('images-bar').hidden = true;
    $('msg-text').hidden = false;
    $('msg-text').textContent = await r.text();
    $('source-btn').setAttribute('aria-pressed', 'true');
  } catch (err) { status(err.message); }
});

$('flag-btn').addEventListener('click', async () => {
  const m = st.open;
  if (!m) return;
  try {
    const on = !m.keywords.$flagged;
    const [r] = await jmap([['Email/set', { update: { [m.id]: { 'keywords/$flagged': on ? true : null } } }]]);
    const e = setError(r.notUpdated);
    if (e) throw new Error(e.description || e.type);
    if (on) m.keywords.$flagged = true; else delete m.keywords.$flagged;
    $('flag-btn').textContent = on ? 'Unflag' : 'Flag';
    $('flag-btn').setAttribute('aria-pressed', String(on));
    await loadList();
  } catch (err) { status(err.message); }
});

$('move-btn').addEventListener('click', () => {
  if (st.open) moveOpen($('move-to').value).then(() => status('Moved.'), (err) => status(err.message));
});

// ---- compose ----

// The identity (name, signature) is read once and after Settings change it.
async function identity() {
  if (!st.ident) {
    const [ids] = await jmap([['Identity/get', {}]]);
    st.ident = ids.list.find((i) => i.email === st.user) || ids.list[0];
  }
  return st.ident;
}

// openComposer shows the form; atts are body parts (blobId, type, name,
// size) carried over by a forward. The signature (RFC 3676 §4.3 "-- "
// line) goes below the text, above a quote.
async function openComposer(to, subject, body, cc, atts, draftId) {
  closeReader();
  $('settings').hidden = true;
  await flushDraft();
  st.draftId = draftId || null;
  $('draft-status').textContent = '';
  $('composer').hidden = false;
  $('app').classList.add('reading');
  let sig = '';
  if (!draftId) {
    try { const id = await identity(); if (id.textSignature) sig = '\n\n-- \n' + id.textSignature; } catch (err) { status(err.message); }
  }
  $('c-to').value = to; $('c-cc').value = cc || ''; $('c-subject').value = subject;
  $('c-body').value = body.startsWith('\n\n') ? sig + body : body + sig;
  st.carry = (atts || []).map((p) => ({ blobId: p.blobId, type: p.type, name: p.name, size: p.size }));
  renderCarry();
  $('compose-error').textContent = '';
  (to ? $('c-body') : $('c-to')).focus();
  if (draftId) $('c-body').setSelectionRange($('c-body').value.length, $('c-body').value.length);
  else if (to || body) $('c-body').setSelectionRange(0, 0);
  contacts().catch(() => {});
}

function fmtSize(n) { return n < 1024 ? n + ' B' : n < 1 << 20 ? Math.round(n / 1024) + ' KB' : (n / 1048576).toFixed(1) + ' MB'; }

// renderCarry lists the attachments: carried over, uploaded, or uploading
// (with a progress bar).
function renderCarry() {
  $('c-attachments').replaceChildren(...st.carry.map((p, i) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = (p.progress !== undefined ? 'Uploading: ' : 'Attached: ') + (p.name || 'attachment') + (p.size ? ' (' + fmtSize(p.size) + ')' : '');
    li.append(name);
    if (p.progress !== undefined) {
      const bar = document.createElement('progress');
      bar.max = 1; bar.value = p.progress;
      bar.setAttribute('aria-label', 'Upload of ' + p.name);
      li.append(bar);
    }
    const rm = document.createElement('button');
    rm.type = 'button'; rm.className = 'small secondary'; rm.textContent = 'Remove';
    rm.setAttribute('aria-label', 'Remove ' + (p.name || 'attachment'));
    rm.addEventListener('click', () => { if (p.xhr) p.xhr.abort(); st.carry.splice(st.carry.indexOf(p), 1); renderCarry(); scheduleDraft(); });
    li.append(rm);
    return li;
  }));
  $('send-btn').disabled = st.carry.some((p) => p.progress !== undefined);
}

// upload sends one file to the uploadUrl (RFC 8620 §6.1) with
// XMLHttpRequest, whose upload events drive the progress bar.
function upload(file) {
  const p = { name: file.name, type: file.type || 'application/octet-stream', size: file.size, progress: 0 };
  st.carry.push(p);
  renderCarry();
  const xhr = new XMLHttpRequest();
  p.xhr = xhr;
  xhr.open('POST', st.session.uploadUrl.replace('{accountId}', encodeURIComponent(st.account)));
  xhr.setRequestHeader('X-CSRF-Token', st.csrf);
  xhr.setRequestHeader('Content-Type', p.type);
  xhr.upload.addEventListener('progress', (e) => {
    if (!e.lengthComputable) return;
    p.progress = e.loaded / e.total;
    const bar = [...document.querySelectorAll('#c-attachments progress')].find((b) => b.getAttribute('aria-label') === 'Upload of ' + p.name);
    if (bar) bar.value = p.progress;
  });
  xhr.addEventListener('load', () => {
    delete p.xhr;
    if (xhr.status === 201) {
      const r = JSON.parse(xhr.responseText);
      p.blobId = r.blobId;
      delete p.progress;
      status('Uploaded ' + p.name + '.');
      scheduleDraft();
    } else {
      st.carry.splice(st.carry.indexOf(p), 1);
      $('compose-error').textContent = p.name + ': ' + (xhr.responseText.trim() || xhr.statusText);
    }
    renderCarry();
  });
  xhr.addEventListener('error', () => {
    delete p.xhr;
    st.carry.splice(st.carry.indexOf(p), 1);
    $('compose-error').textContent = p.name + ': the upload failed';
    renderCarry();
  });
  xhr.send(file);
}

$('c-file').addEventListener('change', () => {
  for (const f of $('c-file').files) upload(f);
  $('c-file').value = '';
});

$('compose-btn').addEventListener('click', () => { st.replyTo = null; openComposer('', '', '', '', []); });

// Discard closes the form and removes its autosaved draft.
$('cancel-btn').addEventListener('click', async () => {
  clearTimeout(st.draftTimer);
  st.draftTimer = null;
  await draftChain;
  $('composer').hidden = true;
  $('app').classList.remove('reading');
  for (const p of st.carry) if (p.xhr) p.xhr.abort();
  if (st.draftId) {
    const id = st.draftId;
    st.draftId = null;
    try { await jmap([['Email/set', { destroy: [id] }]]); status('Draft discarded.'); } catch (err) { status(err.message); }
  }
});

// openText is the open message's text for quoting: its text/plain body
// parts (an HTML-only message quotes nothing).
function openText() {
  const m = st.open;
  if (!m) return '';
  return (m.textBody || []).filter((p) => p.type === 'text/plain').map((p) => (m.bodyValues[p.partId] || {}).value || '').join('\n\n');
}

function reply(all) {
  const m = st.open;
  if (!m) return;
  const toList = m.replyTo && m.replyTo.length ? m.replyTo : (m.from || []);
  const me = st.user.toLowerCase();
  const seen = new Set(toList.map((a) => a.email.toLowerCase()).concat(me));
  const cc = all ? (m.to || []).concat(m.cc || []).filter((a) => {
    const k = a.email.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }) : [];
  const subj = /^re:/i.test(m.subject || '') ? m.subject : 'Re: ' + (m.subject || '');
  const quoted = openText().split('\n').map((l) => '> ' + l).join('\n');
  const text = '\n\n' + fmtAddr(m.from) + ' wrote:\n' + quoted + '\n';
  openComposer(fmtAddr(toList), subj, text, fmtAddr(cc)).then(() => { st.replyTo = m; });
}

$('reply-btn').addEventListener('click', () => reply(false));

// A saved draft opens in the form again; the next save replaces it.
$('edit-draft-btn').addEventListener('click', () => {
  const m = st.open;
  if (!m) return;
  st.replyTo = null;
  // The stored text ends with the line break the message format added.
  const text = openText().replace(/\r\n/g, '\n').replace(/\n$/, '');
  openComposer(fmtAddr(m.to), m.subject || '', text, fmtAddr(m.cc), m.attachments || [], m.id);
});
$('replyall-btn').addEventListener('click', () => reply(true));

$('forward-btn').addEventListener('click', () => {
  const m = st.open;
  if (!m) return;
  st.replyTo = null;
  const subj = /^fwd?:/i.test(m.subject || '') ? m.subject : 'Fwd: ' + (m.subject || '');
  const head = '\n\n---------- Forwarded message ----------\nFrom: ' + fmtAddr(m.from) + '\nDate: ' +
    new Date(m.receivedAt).toUTCString() + '\nSubject: ' + (m.subject || '') + '\nTo: ' + fmtAddr(m.to) + '\n\n';
  openComposer('', subj, head + openText(), '', m.attachments || []);
});

// parseAddrs reads "Name <a@b>, c@d" into JMAP EmailAddress objects.
function parseAddrs(s) {
  return s.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    const m = x.match(/^(.*?)\s*<([^>]+)>$/);
    return m ? { name: m[1].replace(/^"|"$/g, '') || null, email: m[2].trim() } : { name: null, email: x };
  });
}

const validAddr = (a) => /^[^@\s]+@[^@\s]+$/.test(a.email);

// draftEmail is the form as an Email in Drafts with $draft (RFC 8621
// §4.6 create). Addresses still being typed are left out of a draft.
async function draftEmail(forSending) {
  const ident = await identity();
  const drafts = st.byRole.drafts;
  if (!drafts) throw new Error('This account has no Drafts folder.');
  let to = parseAddrs($('c-to').value), cc = parseAddrs($('c-cc').value);
  if (forSending) {
    if (!to.length || to.concat(cc).some((a) => !validAddr(a))) throw new Error('Enter one or more valid addresses.');
  } else {
    to = to.filter(validAddr); cc = cc.filter(validAddr);
  }
  const email = {
    mailboxIds: { [drafts]: true }, keywords: { $draft: true, $seen: true },
    from: [{ name: ident.name || null, email: ident.email }], subject: $('c-subject').value,
    bodyValues: { b: { value: $('c-body').value } }, textBody: [{ partId: 'b', type: 'text/plain' }],
  };
  if (to.length) email.to = to;
  if (cc.length) email.cc = cc;
  const atts = st.carry.filter((p) => p.blobId);
  if (atts.length) email.attachments = atts.map((p) => ({ blobId: p.blobId, type: p.type, name: p.name, disposition: 'attachment' }));
  const r = st.replyTo;
  if (r && r.messageId) {
    email.inReplyTo = r.messageId;
    email.references = (r.references || []).concat(r.messageId);
  }
  return { email, ident };
}

// Drafts save themselves: 1.5 s after the last change the form is
// written to Drafts as a new Email and the previous draft destroyed in
// the same Email/set, so Drafts holds one copy. Saves run one at a time.
let draftChain = Promise.resolve();
function scheduleDraft() {
  if ($('composer').hidden) return;
  clearTimeout(st.draftTimer);
  st.draftTimer = setTimeout(() => { st.draftTimer = null; draftChain = draftChain.then(saveDraft); }, 1500);
}

async function saveDraft() {
  if ($('composer').hidden) return;
  if (!$('c-to').value.trim() && !$('c-subject').value.trim() && !$('c-body').value.trim() && !st.carry.length) return;
  try {
    const { email } = await draftEmail(false);
    const [r] = await jmap([['Email/set', { create: { d: email }, destroy: st.draftId ? [st.draftId] : [] }]]);
    const e = setError(r.notCreated);
    if (e) throw new Error(e.description || e.type);
    st.draftId = r.created.d.id;
    await rebaseCarry(st.draftId);
    $('draft-status').textContent = 'Draft saved at ' + new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) + '.';
  } catch (err) {
    $('draft-status').textContent = 'Draft not saved: ' + err.message;
  }
}

// rebaseCarry points the attachments at the parts of the draft just
// saved: the draft they came from (a reopened draft, or the previous
// save) is gone, and with it the blob ids of its parts.
async function rebaseCarry(id) {
  const [g] = await jmap([['Email/get', { ids: [id], properties: ['attachments'] }]]);
  const parts = (g.list[0] || {}).attachments || [];
  st.carry.filter((p) => p.blobId).forEach((p, i) => { if (parts[i]) p.blobId = parts[i].blobId; });
}

// flushDraft saves a pending change now (before the form is reused).
async function flushDraft() {
  if (st.draftTimer) {
    clearTimeout(st.draftTimer);
    st.draftTimer = null;
    draftChain = draftChain.then(saveDraft);
  }
  await draftChain;
}

$('compose-form').addEventListener('input', (e) => { if (e.target.id !== 'c-file') scheduleDraft(); });

// Enter in a field must not send: the Send button is not a submit button,
// so the form (several fields, no submit button) has no implicit
// submission; a submit event is ignored anyway.
$('compose-form').addEventListener('submit', (e) => e.preventDefault());

$('send-btn').addEventListener('click', async () => {
  $('send-btn').disabled = true;
  $('compose-error').textContent = '';
  clearTimeout(st.draftTimer);
  st.draftTimer = null;
  try {
    await draftChain;
    const { email, ident } = await draftEmail(true);
    const drafts = st.byRole.drafts, sent = st.byRole.sent;
    if (!sent) throw new Error('This account has no Sent folder.');
    const old = st.draftId;
    const [set, sub] = await jmap([
      ['Email/set', { create: { draft: email }, destroy: old ? [old] : [] }],
      ['EmailSubmission/set', { create: { send: { identityId: ident.id, emailId: '#draft' } },
        onSuccessUpdateEmail: { '#send': { ['mailboxIds/' + drafts]: null, ['mailboxIds/' + sent]: true, 'keywords/$draft': null } } }],
    ]);
    const e1 = setError(set.notCreated);
    if (e1) throw new Error(e1.description || e1.type);
    st.draftId = set.created.draft.id;
    const err = setError(sub.notCreated);
    if (err) { // the draft stays in Drafts
      await rebaseCarry(st.draftId);
      throw new Error(err.description || err.type);
    }
    st.draftId = null;
    for (const a of to_cc(email)) st.contactMap && !st.contactMap.has(a.email.toLowerCase()) && st.contactMap.set(a.email.toLowerCase(), a);
    $('composer').hidden = true;
    $('app').classList.remove('reading');
    status('Sent.');
    await Promise.all([loadMailboxes(), loadList()]);
  } catch (err) {
    $('compose-error').textContent = err.message;
  } finally {
    $('send-btn').disabled = false;
  }
});

function to_cc(email) { return (email.to || []).concat(email.cc || []); }

// ---- address completion: the people written to (Sent), cached ----

// contacts reads the addresses of the newest 500 messages in Sent once
// per page load (To and Cc, newest first) into st.contactMap.
async function contacts() {
  if (st.contactMap) return st.contactMap;
  if (st.contactLoad) return st.contactLoad;
  st.contactLoad = (async () => {
    const map = new Map();
    if (st.byRole.sent) {
      const [, g] = await jmap([
        ['Email/query', { filter: { inMailbox: st.byRole.sent }, sort: [{ property: 'receivedAt', isAscending: false }], limit: 500 }],
        ['Email/get', { '#ids': { resultOf: '0', name: 'Email/query', path: '/ids' }, properties: ['to', 'cc', 'bcc'] }],
      ]);
      for (const m of g.list) {
        for (const a of (m.to || []).concat(m.cc || [], m.bcc || [])) {
          const k = a.email.toLowerCase();
          if (!map.has(k) && k !== st.user.toLowerCase()) map.set(k, a);
        }
      }
    }
    st.contactMap = map;
    return map;
  })();
  try { return await st.contactLoad; } finally { st.contactLoad = null; }
}

// Completion for the To and Cc fields (comma-separated): the word being
// typed is matched against names and addresses; Up/Down choose, Enter or
// Tab takes the choice, Escape closes (ARIA combobox with a listbox).
function completer(input) {
  const list = document.createElement('ul');
  list.id = input.id + '-suggest';
  list.className = 'suggest';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Suggested addresses');
  list.hidden = true;
  input.after(list);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('autocomplete', 'off');
  let items = [], active = -1;
  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; };
  const mark = () => {
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
    if (active >= 0) input.setAttribute('aria-activedescendant', list.id + '-' + active); else input.removeAttribute('aria-activedescendant');
  };
  const take = (a) => {
    const parts = input.value.split(',');
    parts[parts.length - 1] = ' ' + (a.name ? a.name + ' <' + a.email + '>' : a.email);
    input.value = parts.join(',').replace(/^\s+/, '') + ', ';
    close();
    input.focus();
    scheduleDraft();
  };
  input.addEventListener('input', async () => {
    const word = input.value.split(',').pop().trim().toLowerCase();
    if (word.length < 1) { close(); return; }
    const map = await contacts().catch(() => new Map());
    const already = new Set(parseAddrs(input.value).map((a) => a.email.toLowerCase()));
    items = [...map.values()].filter((a) => !already.has(a.email.toLowerCase()) &&
      (a.email.toLowerCase().includes(word) || (a.name || '').toLowerCase().includes(word))).slice(0, 6);
    list.replaceChildren(...items.map((a, i) => {
      const li = document.createElement('li');
      li.id = list.id + '-' + i;
      li.setAttribute('role', 'option');
      li.textContent = a.name ? a.name + ' <' + a.email + '>' : a.email;
      li.addEventListener('mousedown', (e) => { e.preventDefault(); take(a); });
      return li;
    }));
    active = items.length ? 0 : -1;
    list.hidden = !items.length;
    input.setAttribute('aria-expanded', String(!!items.length));
    mark();
  });
  input.addEventListener('keydown', (e) => {
    if (list.hidden) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      mark();
    } else if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0) {
      e.preventDefault();
      take(items[active]);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}
completer($('c-to'));
completer($('c-cc'));

// ---- settings ----

// Name and signature are the JMAP Identity (Identity/set, RFC 8621 §6.3);
// the trusted senders and the password have endpoints of their own on
// the cookie session (POST with the CSRF token).
function settingsMsg(t) { $('settings-msg').textContent = t; }

async function openSettings() {
  closeReader();
  $('composer').hidden = true;
  $('settings').hidden = false;
  $('app').classList.add('reading');
  settingsMsg('');
  st.ident = null;
  const [id, set] = await Promise.all([identity(), http('GET', '/jmap/web/settings')]);
  $('s-name').value = id.name || '';
  $('s-signature').value = id.textSignature || '';
  renderTrusted(set.trustedSenders);
  $('s-name').focus();
}

function closeSettings() {
  $('settings').hidden = true;
  $('app').classList.remove('reading');
}

function renderTrusted(list) {
  st.trusted = list;
  $('trusted-list').replaceChildren(...(list.length ? list.map((a) => {
    const li = document.createElement('li');
    const t = document.createElement('span');
    t.textContent = a;
    const rm = document.createElement('button');
    rm.type = 'button'; rm.className = 'small secondary'; rm.textContent = 'Remove';
    rm.setAttribute('aria-label', 'Remove ' + a);
    rm.addEventListener('click', () => saveTrusted(st.trusted.filter((x) => x !== a), 'Removed ' + a + '.'));
    li.append(t, rm);
    return li;
  }) : [Object.assign(document.createElement('li'), { textContent: 'None: remote images are asked for.' })]));
}

async function saveTrusted(list, msg) {
  try {
    const r = await http('POST', '/jmap/web/settings', { trustedSenders: list });
    renderTrusted(r.trustedSenders);
    settingsMsg(msg);
  } catch (err) { settingsMsg(err.message); }
}

$('settings-btn').addEventListener('click', () => openSettings().catch((err) => settingsMsg(err.message)));
$('settings-close').addEventListener('click', closeSettings);

$('identity-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const id = await identity();
    const [r] = await jmap([['Identity/set', { update: { [id.id]: { name: $('s-name').value.trim(), textSignature: $('s-signature').value } } }]]);
    const err = setError(r.notUpdated);
    if (err) throw new Error(err.description || err.type);
    st.ident = null;
    settingsMsg('Name and signature saved.');
  } catch (err) { settingsMsg(err.message); }
});

$('password-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  if ($('s-new').value !== $('s-repeat').value) { settingsMsg('The new passwords differ.'); return; }
  $('password-save').disabled = true;
  try {
    const r = await fetch('/jmap/web/password', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': st.csrf },
      body: JSON.stringify({ currentPassword: $('s-current').value, newPassword: $('s-new').value }) });
    if (!r.ok) throw new Error((await r.text()).trim() || r.statusText);
    $('s-current').value = $('s-new').value = $('s-repeat').value = '';
    settingsMsg('Password changed. Other sessions were logged out.');
  } catch (err) { settingsMsg(err.message); } finally { $('password-save').disabled = false; }
});

$('trusted-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const a = $('s-trusted').value.trim().toLowerCase();
  if (!a) return;
  $('s-trusted').value = '';
  saveTrusted((st.trusted || []).concat(a), 'Images from ' + a + ' will load.');
});

$('skip').addEventListener('click', (e) => {
  e.preventDefault();
  const a = document.querySelector('#messages li[data-id] a');
  (a || $('list-scroll')).focus();
});

// ---- keyboard ----

$('back-btn').addEventListener('click', () => { closeReader(); });
$('help-btn').addEventListener('click', () => { $('help').hidden = !$('help').hidden; });

// openAt opens the message delta rows from the open one in the list
// (loading its rows first when they are not yet fetched) and scrolls it
// into view.
async function openAt(delta) {
  if (!lst.total) return;
  const i = st.open ? lst.byPos.indexOf(st.open.id) : -1;
  const j = i < 0 ? 0 : Math.min(lst.total - 1, Math.max(0, i + delta));
  if (!lst.byPos[j]) await loadChunk(lst, Math.floor(j / PAGE) * PAGE);
  const sc = $('list-scroll');
  if (j * ROW < sc.scrollTop || (j + 1) * ROW > sc.scrollTop + sc.clientHeight) sc.scrollTop = Math.max(0, j * ROW - sc.clientHeight / 2);
  renderList();
  await openMessage(lst.byPos[j]);
}

document.addEventListener('keydown', (e) => {
  if ($('app').hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === 'Escape') { $('help').hidden = true; return; }
  if (e.target.closest('input, textarea, select, iframe')) return;
  if (e.target.closest('button, a') && (e.key === 'Enter' || e.key === ' ')) return;
  const act = {
    j: () => openAt(1).catch((err) => status(err.message)), k: () => openAt(-1).catch((err) => status(err.message)),
    o: () => openAt(0).catch((err) => status(err.message)), Enter: () => openAt(0).catch((err) => status(err.message)),
    x: () => { if (st.open) { const i = lst.byPos.indexOf(st.open.id); pick(i, st.open.id, !sel.has(st.open.id), false); } },
    u: () => closeReader(), r: () => $('reply-btn').click(), c: () => $('compose-btn').click(),
    a: () => $('replyall-btn').click(), f: () => $('forward-btn').click(),
    // e and # act on the selection when there is one, else on the open message.
    '#': () => (sel.size ? $('bulk-delete') : $('delete-btn')).click(), '/': () => $('search').focus(),
    '?': () => { $('help').hidden = !$('help').hidden; },
    e: () => {
      const a = st.byRole.archive;
      if (sel.size) $('bulk-archive').click();
      else if (st.open && a) moveOpen(a).then(() => status('Archived.'), (err) => status(err.message));
    },
  }[e.key];
  if (!act) return;
  e.preventDefault();
  act();
});

// ---- push (RFC 8620 §7.3) ----

let refreshing = false, again = false;
function listen() {
  if (st.events) st.events.close();
  const url = st.session.eventSourceUrl.replace('{types}', 'Email,Mailbox').replace('{closeafter}', 'no').replace('{ping}', '60');
  st.events = new EventSource(url, { withCredentials: true });
  st.events.addEventListener('state', async () => {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      do { again = false; await loadMailboxes(); await loadList(); } while (again);
    } catch (err) { status(err.message); } finally { refreshing = false; }
  });
}

// ---- boot: a reload keeps the session (the cookie) and the place (#hash) ----

window.addEventListener('popstate', () => {
  const h = new URLSearchParams(location.hash.slice(1));
  if (st.session && h.get('msg')) openMessage(h.get('msg')).catch(() => {});
});

fetch('/jmap/web/session', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json().then(start) : showLogin()))
  .catch(() => showLogin());
