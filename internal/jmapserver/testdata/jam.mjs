// Drives letterbox's JMAP server through jmap-jam, an independent JMAP
// client (npm), every method at least once. Run by jam_test.go:
//   node jam.mjs JAM_MODULE_PATH SESSION_URL TOKEN
// It throws (exit 1) on the first wrong answer and prints "ok" at the end.
const [, , jamPath, sessionUrl, token] = process.argv;
const { default: JamClient } = await import(jamPath);

import { installEventSource } from "./eventsource.mjs";
installEventSource(token);

const jam = new JamClient({ sessionUrl, bearerToken: token });
const check = (cond, what, detail) => { if (!cond) throw new Error("FAIL " + what + ": " + JSON.stringify(detail)); };
const session = await jam.session;
check(session.capabilities["urn:ietf:params:jmap:core"].maxCallsInRequest > 0, "session limits", session);
const accountId = await jam.getPrimaryAccount();
check(accountId, "primary account", session);

// Core/echo
const [echo] = await jam.request(["Core/echo", { hello: "world" }]);
check(echo.hello === "world", "Core/echo", echo);

// Mailbox/get, query, set, changes, queryChanges
const [mboxes] = await jam.api.Mailbox.get({ accountId });
const role = (r) => mboxes.list.find((m) => m.role === r).id;
const inbox = role("inbox"), drafts = role("drafts"), sent = role("sent"), archive = role("archive");
const [mq] = await jam.api.Mailbox.query({ accountId, filter: { hasAnyRole: true }, sort: [{ property: "sortOrder" }] });
check(mq.ids[0] === inbox && mq.ids.length === 6, "Mailbox/query", mq);
const [ms] = await jam.api.Mailbox.set({ accountId, create: { p: { name: "Jam", parentId: null } } });
check(ms.created.p.id, "Mailbox/set create", ms);
const [mc] = await jam.api.Mailbox.changes({ accountId, sinceState: mboxes.state });
check(mc.created.includes(ms.created.p.id), "Mailbox/changes", mc);
const [mqc] = await jam.api.Mailbox.queryChanges({ accountId, sinceQueryState: mq.queryState, filter: { hasAnyRole: false } });
check(mqc.added.some((a) => a.id === ms.created.p.id), "Mailbox/queryChanges", mqc);

// Email/query + Email/get with a back-reference
const [{ q, g }] = await jam.requestMany((t) => {
  const q = t.Email.query({ accountId, filter: { inMailbox: inbox }, sort: [{ property: "receivedAt", isAscending: false }], limit: 50 });
  const g = t.Email.get({ accountId, ids: q.$ref("/ids"), properties: ["subject", "from", "keywords", "preview", "bodyValues", "textBody"], fetchTextBodyValues: true });
  return { q, g };
});
check(q.ids.length === 2 && g.list.length === 2, "Email/query+get", { q, g });
const hello = g.list.find((e) => e.subject === "Hello from SMTP");
check(hello && hello.from[0].email === "bob@example.com" && Object.values(hello.bodyValues)[0].value.includes("zebra"), "Email/get bodyValues", g);

// Push: subscribe, then change a keyword; the StateChange names Email.
const sse = await jam.connectEventSource({ types: ["Email", "Mailbox"], ping: 0, closeafter: "state" });
const pushed = new Promise((resolve, reject) => {
  sse.addEventListener("state", (e) => resolve(JSON.parse(e.data)));
  sse.addEventListener("error", reject);
  setTimeout(() => reject(new Error("no push within 5s")), 5000);
});
await new Promise((r) => setTimeout(r, 100));
const [es] = await jam.api.Email.set({ accountId, update: { [hello.id]: { "keywords/$seen": true } } });
check(es.updated && hello.id in es.updated, "Email/set keywords", es);
const change = await pushed;
sse.close();
check(change["@type"] === "StateChange" && change.changed[accountId].Email === es.newState, "EventSource StateChange", change);

// Email/changes, Email/queryChanges, Thread/get, Thread/changes
const [ec] = await jam.api.Email.changes({ accountId, sinceState: q.queryState });
check(ec.updated.includes(hello.id), "Email/changes", ec);
const [eqc] = await jam.api.Email.queryChanges({ accountId, sinceQueryState: q.queryState, filter: { inMailbox: inbox }, sort: [{ property: "receivedAt", isAscending: false }] });
check(eqc.added.some((a) => a.id === hello.id), "Email/queryChanges", eqc);
const [full] = await jam.api.Email.get({ accountId, ids: [hello.id], properties: ["threadId", "blobId", "mailboxIds"] });
const [th] = await jam.api.Thread.get({ accountId, ids: [full.list[0].threadId] });
check(th.list[0].emailIds.includes(hello.id), "Thread/get", th);
const [thc] = await jam.api.Thread.changes({ accountId, sinceState: "t" + q.queryState.slice(1) });
check(Array.isArray(thc.updated), "Thread/changes", thc);

// SearchSnippet/get
const [sn] = await jam.api.SearchSnippet.get({ accountId, filter: { text: "zebra" }, emailIds: [hello.id] });
check(sn.list[0].preview.includes("<mark>zebra</mark>"), "SearchSnippet/get", sn);

// Blobs: upload, download, Blob/copy, Email/import, Email/parse
const raw = "From: carol@example.com\r\nTo: alice@example.com\r\nSubject: Imported\r\nMessage-ID: <imp@example.com>\r\n\r\nImported body\r\n";
const up = await jam.uploadBlob(accountId, new Blob([raw], { type: "message/rfc822" }));
check(up.blobId && up.size === raw.length, "upload", up);
const dl = await jam.downloadBlob({ accountId, blobId: up.blobId, mimeType: "message/rfc822", fileName: "m.eml" });
check((await dl.text()) === raw, "download", null);
const [bc] = await jam.request(["Blob/copy", { fromAccountId: accountId, accountId, blobIds: [up.blobId] }]);
check(bc.copied[up.blobId], "Blob/copy", bc);
const [ei] = await jam.api.Email.import({ accountId, emails: { i1: { blobId: up.blobId, mailboxIds: { [archive]: true }, keywords: { $seen: true } } } });
check(ei.created.i1.id, "Email/import", ei);
const [ep] = await jam.api.Email.parse({ accountId, blobIds: [up.blobId], properties: ["subject", "messageId"] });
check(ep.parsed[up.blobId].subject === "Imported", "Email/parse", ep);

// Email/copy into the new mailbox
const [ecp] = await jam.api.Email.copy({ fromAccountId: accountId, accountId, create: { c1: { id: ei.created.i1.id, mailboxIds: { [ms.created.p.id]: true } } } });
check(ecp.created.c1.id, "Email/copy", ecp);

// Identity/get, a draft, EmailSubmission/set with onSuccessUpdateEmail,
// EmailSubmission/get, /changes, /query.
const [ids] = await jam.api.Identity.get({ accountId });
const identity = ids.list[0];
check(identity.email === session.username, "Identity/get", ids);
const [{ draft, sub }] = await jam.requestMany((t) => {
  const draft = t.Email.set({ accountId, create: { d: {
    mailboxIds: { [drafts]: true }, keywords: { $draft: true, $seen: true },
    from: [{ email: identity.email }], to: [{ name: "Bob", email: "bob@example.com" }], subject: "From jam",
    textBody: [{ partId: "1", type: "text/plain" }], bodyValues: { 1: { value: "Sent through EmailSubmission." } } } } });
  const sub = t.EmailSubmission.set({ accountId, create: { s: { identityId: identity.id, emailId: "#d" } },
    onSuccessUpdateEmail: { "#s": { [`mailboxIds/${drafts}`]: null, [`mailboxIds/${sent}`]: true, "keywords/$draft": null } } });
  return { draft, sub };
});
check(draft.created.d.id && sub.created.s.id, "EmailSubmission/set", { draft, sub });
const [sq] = await jam.api.Email.query({ accountId, filter: { inMailbox: sent } });
check(sq.ids.length === 1, "sent copy moved by onSuccessUpdateEmail", sq);
const [sg] = await jam.api.EmailSubmission.get({ accountId, ids: [sub.created.s.id] });
check(sg.list[0].undoStatus === "final" && sg.list[0].envelope.rcptTo[0].email === "bob@example.com", "EmailSubmission/get", sg);
const [sc] = await jam.api.EmailSubmission.changes({ accountId, sinceState: "s0" });
check(sc.created.includes(sub.created.s.id), "EmailSubmission/changes", sc);
const [sqq] = await jam.api.EmailSubmission.query({ accountId });
check(sqq.ids.includes(sub.created.s.id), "EmailSubmission/query", sqq);

// VacationResponse (RFC 8621 §8): the singleton, set and read back.
const [vs] = await jam.api.VacationResponse.set({ accountId, update: { singleton: { isEnabled: true, subject: "Away", textBody: "Back on Monday." } } });
check(vs.updated && "singleton" in vs.updated, "VacationResponse/set", vs);
const [vg] = await jam.api.VacationResponse.get({ accountId, ids: ["singleton"] });
check(vg.list[0].isEnabled === true && vg.list[0].textBody === "Back on Monday.", "VacationResponse/get", vg);

// Errors arrive as JMAP errors through the client.
let err = null;
try { await jam.api.Email.get({ accountId: "nope", ids: [] }); } catch (e) { err = e; }
check(err && err.type === "accountNotFound", "accountNotFound", err);

// Destroy: Email/set destroy, Mailbox/set destroy with its emails.
const [ed] = await jam.api.Email.set({ accountId, destroy: [ei.created.i1.id] });
check(ed.destroyed.includes(ei.created.i1.id), "Email/set destroy", ed);
const [md] = await jam.api.Mailbox.set({ accountId, destroy: [ms.created.p.id], onDestroyRemoveEmails: true });
check(md.destroyed.includes(ms.created.p.id), "Mailbox/set destroy", md);
console.log("ok");
