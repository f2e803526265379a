// Drives a shared account (mailboxes bob shared with alice through IMAP
// ACLs) through jmap-jam, an independent JMAP client. Run by
// jam_test.go's TestJamSharedAccount:
//   node jam_shared.mjs JAM_MODULE_PATH SESSION_URL TOKEN
// Bob's "Team" gives alice lrs (read, $seen), "Drop" li (add only).
// It throws (exit 1) on the first wrong answer and prints "ok" at the end.
const [, , jamPath, sessionUrl, token] = process.argv;
const { default: JamClient } = await import(jamPath);

import { installEventSource } from "./eventsource.mjs";
installEventSource(token);

const jam = new JamClient({ sessionUrl, bearerToken: token });
const check = (cond, what, detail) => { if (!cond) throw new Error("FAIL " + what + ": " + JSON.stringify(detail)); };
const session = await jam.session;
const own = await jam.getPrimaryAccount();
const sharedIds = Object.keys(session.accounts).filter((id) => !session.accounts[id].isPersonal);
check(sharedIds.length === 1 && session.accounts[sharedIds[0]].name === "bob@example.com", "shared account in the session", session.accounts);
const accountId = sharedIds[0];
check(session.accounts[accountId].isReadOnly === false && session.accounts[accountId].accountCapabilities["urn:ietf:params:jmap:mail"], "shared account capabilities", session.accounts[accountId]);

const [mboxes] = await jam.api.Mailbox.get({ accountId });
const byName = Object.fromEntries(mboxes.list.map((m) => [m.name, m]));
check(mboxes.list.length === 2 && byName.Team && byName.Drop, "shared Mailbox/get", mboxes.list);
check(byName.Team.myRights.mayReadItems && byName.Team.myRights.maySetSeen && !byName.Team.myRights.maySetKeywords && !byName.Team.myRights.mayRemoveItems, "Team myRights", byName.Team.myRights);
check(!byName.Drop.myRights.mayReadItems && byName.Drop.myRights.mayAddItems, "Drop myRights", byName.Drop.myRights);

const [q] = await jam.api.Email.query({ accountId, sort: [{ property: "receivedAt", isAscending: false }] });
check(q.ids.length === 1, "shared Email/query sees Team only", q);
const [g] = await jam.api.Email.get({ accountId, ids: q.ids, properties: ["subject", "keywords", "mailboxIds"] });
check(g.list[0].subject === "team news" && g.list[0].mailboxIds[byName.Team.id], "shared Email/get", g);
const id = q.ids[0];

const [s1] = await jam.api.Email.set({ accountId, update: { [id]: { "keywords/$seen": true } } });
check(s1.updated && id in s1.updated, "$seen with s", s1);
const [s2] = await jam.api.Email.set({ accountId, update: { [id]: { "keywords/$flagged": true } }, destroy: [id] });
check(s2.notUpdated?.[id]?.type === "forbidden" && s2.notDestroyed?.[id]?.type === "forbidden", "$flagged and destroy refused", s2);

const [ch] = await jam.api.Email.changes({ accountId, sinceState: g.state });
check(ch.updated.includes(id), "shared Email/changes", ch);

// A copy from the shared account into alice's own Inbox is a new Email
// there; one into Drop (i) works, one into Team (no i) does not.
const [ownBoxes] = await jam.api.Mailbox.get({ accountId: own });
const inbox = ownBoxes.list.find((m) => m.role === "inbox").id;
const [cp] = await jam.api.Email.copy({ fromAccountId: accountId, accountId: own, create: { c: { id, mailboxIds: { [inbox]: true } } } });
check(cp.created?.c?.id && cp.created.c.id !== id, "Email/copy shared → own", cp);
const [back] = await jam.api.Email.copy({ fromAccountId: own, accountId, create: {
  drop: { id: cp.created.c.id, mailboxIds: { [byName.Drop.id]: true }, keywords: {} },
  team: { id: cp.created.c.id, mailboxIds: { [byName.Team.id]: true }, keywords: {} },
} });
check(back.created?.drop && back.notCreated?.team?.type === "forbidden", "Email/copy own → shared", back);

// A StateChange for the shared account when bob's side changes Team: the
// Go test delivers once it reads "waiting".
const sse = await jam.connectEventSource({ types: ["Email"], ping: 0, closeafter: "state" });
const change = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("FAIL no StateChange for the shared account")), 10000);
  sse.addEventListener("state", (e) => { clearTimeout(timer); resolve(JSON.parse(e.data)); });
  sse.addEventListener("error", (e) => { clearTimeout(timer); reject(e); });
  setTimeout(() => console.log("waiting"), 200);
});
sse.close();
check(change["@type"] === "StateChange" && change.changed[accountId]?.Email, "StateChange for the shared account", change);
console.log("ok");
