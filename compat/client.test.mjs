// Client compatibility suite: drives an app that mounts authkit with the
// unchanged published Altogic JavaScript client (npm altogic@2.3.9) through
// every email-account and phone-account method, and checks the answers
// against the shapes of the Altogic docs (/work/shared/seeds) and the kit's
// error codes.
//
// Run it against a server started in development mode (mail and texts
// recorded at GET /dev/outbox, email and phone confirmation on, phone
// accounts and sign-in codes on, the default 60 s between codes to one
// number, minimum password length 8):
//
//	AUTHKIT_URL=http://127.0.0.1:8080 node --test client.test.mjs
//
// `go test ./example -run TestAltogicClient` starts such a server in-process
// and runs this file.
//
// Each client instance keeps its session in its own fetcher (Node has no
// localStorage), so separate instances stand for separate devices.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "altogic";

const BASE = (process.env.AUTHKIT_URL ?? "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(BASE)) {
  throw new Error("set AUTHKIT_URL to the base URL of the app under test, e.g. http://127.0.0.1:8080");
}
const REDIRECT = BASE + "/"; // the example's redirect URL
const TEST_TIMEOUT = 30_000; // per test: the client hangs on a non-JSON error body
const CALL_TIMEOUT = 10_000; // per client call
const MAIL_WAIT = 5_000; // mail is sent in the background

// ---------------------------------------------------------------- helpers

const hex = (n) => randomBytes(n).toString("hex");
const newEmail = (tag) => `compat-${tag}-${hex(5)}@example.com`;
// Long, random and not on any common-password list.
const newPassword = () => `Cpt-${hex(6)}-x9!`;

function client() {
  return createClient(BASE, "client-key");
}

/** Awaits a client call, failing clearly instead of hanging. */
async function call(what, promise, ms = CALL_TIMEOUT) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `${what}: no answer within ${ms} ms (the client hangs when a non-2xx answer has a body that is not JSON)`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const show = (v) => JSON.stringify(v, null, 1);

function assertNoErrors(what, res) {
  assert.equal(res.errors, null, `${what}: expected no errors, got ${show(res.errors)}`);
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function assertIsoTime(v, what) {
  assert.equal(typeof v, "string", `${what} must be a string, got ${show(v)}`);
  assert.match(v, ISO_MS, `${what} must be ISO 8601 with milliseconds and Z, got ${v}`);
  assert.ok(!Number.isNaN(Date.parse(v)), `${what} is no date: ${v}`);
}

function assertNonEmptyString(v, what) {
  assert.equal(typeof v, "string", `${what} must be a string, got ${show(v)}`);
  assert.notEqual(v, "", `${what} must not be empty`);
}

/** A user object as in the seeds; never a secret. */
function checkUser(u, what = "user") {
  assert.ok(u && typeof u === "object" && !Array.isArray(u), `${what} must be an object, got ${show(u)}`);
  assertNonEmptyString(u._id, `${what}._id`);
  assertNonEmptyString(u.provider, `${what}.provider`);
  assertNonEmptyString(u.providerUserId, `${what}.providerUserId`);
  assertIsoTime(u.signUpAt, `${what}.signUpAt`);
  assertIsoTime(u.lastLoginAt, `${what}.lastLoginAt`);
  for (const key of Object.keys(u)) {
    assert.ok(!/pass|hash|secret/i.test(key), `${what} must carry no secret, has ${key}: ${show(u)}`);
  }
  if ("email" in u) assert.equal(typeof u.email, "string", `${what}.email`);
  if ("name" in u) assert.equal(typeof u.name, "string", `${what}.name`);
  if ("emailVerified" in u) assert.equal(typeof u.emailVerified, "boolean", `${what}.emailVerified`);
  if ("profilePicture" in u) assert.equal(typeof u.profilePicture, "string", `${what}.profilePicture`);
  if ("phone" in u) assert.match(u.phone, /^\+[1-9]\d{1,14}$/, `${what}.phone must be E.164`);
  if ("phoneVerified" in u) assert.equal(typeof u.phoneVerified, "boolean", `${what}.phoneVerified`);
  if (u.provider === "altogic") {
    assert.equal(u.providerUserId, u._id, `${what}.providerUserId must equal _id for provider altogic`);
  }
}

function checkVersioned(o, what) {
  assert.ok(o && typeof o === "object", `${what} must be an object, got ${show(o)}`);
  for (const f of ["family", "major", "minor", "patch"]) {
    assert.equal(typeof o[f], "string", `${what}.${f} must be a string, got ${show(o[f])}`);
  }
}

/** A session object as in the seeds. */
function checkSession(s, what = "session") {
  assert.ok(s && typeof s === "object" && !Array.isArray(s), `${what} must be an object, got ${show(s)}`);
  assertNonEmptyString(s.userId, `${what}.userId`);
  assertNonEmptyString(s.token, `${what}.token`);
  assertIsoTime(s.creationDtm, `${what}.creationDtm`);
  assert.ok(Array.isArray(s.accessGroupKeys), `${what}.accessGroupKeys must be an array, got ${show(s.accessGroupKeys)}`);
  checkVersioned(s.userAgent, `${what}.userAgent`);
  checkVersioned(s.userAgent.device, `${what}.userAgent.device`);
  checkVersioned(s.userAgent.os, `${what}.userAgent.os`);
}

/** The client's error object: {status, statusText, items}, with code among items. */
function assertError(what, errors, status, code) {
  assert.ok(errors, `${what}: expected errors with status ${status} and code ${code}, got none`);
  assert.ok(Array.isArray(errors.items) && errors.items.length > 0, `${what}: errors.items must be a non-empty array: ${show(errors)}`);
  for (const [i, item] of errors.items.entries()) {
    for (const f of ["origin", "code", "message"]) {
      assert.equal(typeof item?.[f], "string", `${what}: errors.items[${i}].${f} must be a string: ${show(errors)}`);
    }
  }
  const codes = errors.items.map((i) => i.code);
  assert.ok(codes.includes(code), `${what}: expected code ${code}, got ${show(errors)}`);
  assert.equal(errors.status, status, `${what}: expected status ${status}, got ${show(errors)}`);
}

// --------------------------------------------------------------- mail

const seenMail = new Set();

async function outbox() {
  const res = await fetch(`${BASE}/dev/outbox`);
  assert.equal(res.status, 200, `GET /dev/outbox answered ${res.status}`);
  const list = await res.json();
  assert.ok(Array.isArray(list), `GET /dev/outbox must answer an array, got ${show(list)}`);
  return list;
}

const mailKey = (m) => JSON.stringify(m);
const isTo = (m, to) => m?.kind === "email" && String(m.to).toLowerCase() === to.toLowerCase();

/** The newest email to `to` not returned before; polls the outbox for up to MAIL_WAIT. */
async function latestMail(to, what = `mail to ${to}`) {
  const deadline = Date.now() + MAIL_WAIT;
  for (;;) {
    const list = await outbox();
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (isTo(m, to) && !seenMail.has(mailKey(m))) {
        seenMail.add(mailKey(m));
        assert.equal(typeof m.subject, "string", `${what}: subject`);
        assert.equal(typeof m.body, "string", `${what}: body`);
        return m;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: no new email to ${to} in the outbox within ${MAIL_WAIT} ms`);
    }
    await sleep(50);
  }
}

/** Fails if any email to `to` is in the outbox. */
async function assertNoMailTo(to, what) {
  const list = await outbox();
  const found = list.filter((m) => isTo(m, to));
  assert.equal(found.length, 0, `${what}: expected no email to ${to}, found ${show(found)}`);
}

/** The first absolute link to the kit's /_auth/ routes in a message body. */
function linkIn(mail, what) {
  const links = mail.body.match(/https?:\/\/[^\s"'<>]+/g) ?? [];
  const link = links.find((l) => l.startsWith(BASE + "/_auth/"));
  assert.ok(link, `${what}: no link to ${BASE}/_auth/ in the body:\n${mail.body}`);
  return link;
}

/** Follows an email link (GET, no redirect) and returns the redirect's query. */
async function follow(link, what = `follow ${link}`) {
  const res = await fetch(link, { redirect: "manual" });
  assert.ok([302, 303].includes(res.status), `${what}: expected a 303 (or 302) redirect, got ${res.status}: ${await res.text()}`);
  const location = res.headers.get("location");
  assert.ok(location, `${what}: redirect without Location`);
  const url = new URL(location, link);
  assert.ok(url.href.startsWith(REDIRECT), `${what}: redirect must go to the redirect URL ${REDIRECT}, goes to ${url.href}`);
  const q = Object.fromEntries(url.searchParams);
  q._location = url.href;
  return q;
}

/** Follows the link of the newest mail to `to` and checks the redirect says success for `action`. */
async function followMail(to, action) {
  const mail = await latestMail(to, `${action} mail`);
  const q = await follow(linkIn(mail, `${action} mail`), `follow the ${action} link`);
  assert.equal(q.status, "200", `${action} link: expected status=200, redirect was ${q._location}`);
  assert.equal(q.error, undefined, `${action} link: unexpected error, redirect was ${q._location}`);
  assert.equal(q.action, action, `${action} link: expected action=${action}, redirect was ${q._location}`);
  return q;
}

// ------------------------------------------------------------ accounts

/** Signs up a new account, confirms it by link and exchanges the grant; returns a signed-in client. */
async function confirmedAccount(tag, email = newEmail(tag)) {
  const password = newPassword();
  const up = await call("signUpWithEmail", client().auth.signUpWithEmail(email, password, `Compat ${tag}`));
  assertNoErrors("signUpWithEmail", up);
  const q = await followMail(email, "email-confirm");
  assertNonEmptyString(q.access_token, "email-confirm redirect access_token");
  const c = client();
  const grant = await call("getAuthGrant", c.auth.getAuthGrant(q.access_token));
  assertNoErrors("getAuthGrant after email-confirm", grant);
  checkUser(grant.user, "grant.user");
  checkSession(grant.session, "grant.session");
  return { email, password, client: c, user: grant.user, session: grant.session };
}

/** A new client signed in with email and password (another device). */
async function signedIn(email, password, what = "signInWithEmail") {
  const c = client();
  const res = await call(what, c.auth.signInWithEmail(email, password));
  assertNoErrors(what, res);
  checkUser(res.user, `${what} user`);
  checkSession(res.session, `${what} session`);
  return { client: c, user: res.user, session: res.session };
}

/** A new client that presents `token` as its session. */
function clientWithToken(token) {
  const c = client();
  c.auth.setSession({ token });
  return c;
}

async function assertAlive(c, what) {
  const res = await call(`getUserFromDB (${what})`, c.auth.getUserFromDB());
  assertNoErrors(`getUserFromDB (${what})`, res);
  checkUser(res.user, `getUserFromDB (${what}) user`);
  return res.user;
}

async function assertDead(c, what) {
  const res = await call(`getUserFromDB (${what})`, c.auth.getUserFromDB());
  assertError(`getUserFromDB (${what})`, res.errors, 401, "invalid_session_token");
}

const opts = { timeout: TEST_TIMEOUT };

// --------------------------------------------------------------- tests

test("signUpWithEmail with a name answers the user and a null session", opts, async () => {
  const email = newEmail("name");
  const res = await call("signUpWithEmail", client().auth.signUpWithEmail(email, newPassword(), "Rooby"));
  assertNoErrors("signUpWithEmail", res);
  assert.equal(res.session, null, "sign-up with email confirmation on must answer session null");
  checkUser(res.user);
  assert.equal(res.user.email, email);
  assert.equal(res.user.name, "Rooby");
  assert.equal(res.user.provider, "altogic");
  assert.notEqual(res.user.emailVerified, true, "a new address is not verified");
  const mail = await latestMail(email, "confirmation mail");
  linkIn(mail, "confirmation mail");
});

test("signUpWithEmail with user data ignores privileged fields", opts, async () => {
  const email = newEmail("object");
  const password = newPassword();
  const picture = "https://example.com/pic.png";
  const res = await call(
    "signUpWithEmail",
    client().auth.signUpWithEmail(email, password, {
      name: "Jobby",
      profilePicture: picture,
      age: 30,
      emailVerified: true,
      _id: "x",
      provider: "evil",
    }),
  );
  assertNoErrors("signUpWithEmail", res);
  assert.equal(res.session, null, "emailVerified in user data must not skip confirmation");
  checkUser(res.user);
  assert.equal(res.user.email, email);
  assert.equal(res.user.name, "Jobby");
  assert.equal(res.user.profilePicture, picture);
  assert.equal(res.user.emailVerified, false, "emailVerified from user data must be ignored");
  assert.notEqual(res.user._id, "x", "_id from user data must be ignored");
  assert.equal(res.user.provider, "altogic", "provider from user data must be ignored");
  const sign = await call("signInWithEmail", client().auth.signInWithEmail(email, password));
  assertError("signInWithEmail after sign-up with emailVerified:true", sign.errors, 403, "email_not_verified");
});

test("a second sign-up with the same email is refused with email_taken", opts, async () => {
  // An address that only waits for its confirmation is anyone's who proves
  // it: a second sign-up for it answers as a first. Once an account owns
  // it, a sign-up is refused.
  const { email } = await confirmedAccount("dup");
  const second = await call("signUpWithEmail", client().auth.signUpWithEmail(email, newPassword(), "Second"));
  assertError("second signUpWithEmail", second.errors, 409, "email_taken");
  assert.equal(second.user, null);
  assert.equal(second.session, null);
});

test("a too short password is refused with password_too_short and creates nothing", opts, async () => {
  const email = newEmail("short");
  const res = await call("signUpWithEmail", client().auth.signUpWithEmail(email, "Zq7!xYw", "Shorty"));
  assertError("signUpWithEmail with 7 characters", res.errors, 400, "password_too_short");
  const again = await call("signUpWithEmail", client().auth.signUpWithEmail(email, newPassword(), "Shorty"));
  assertNoErrors("signUpWithEmail after a refused one", again);
});

test("signInWithEmail before confirming is refused with email_not_verified", opts, async () => {
  const email = newEmail("unconfirmed");
  const password = newPassword();
  assertNoErrors("signUpWithEmail", await call("signUpWithEmail", client().auth.signUpWithEmail(email, password, "U")));
  const res = await call("signInWithEmail", client().auth.signInWithEmail(email, password));
  assertError("signInWithEmail before confirming", res.errors, 403, "email_not_verified");
  assert.equal(res.session, null);
  const wrong = await call("signInWithEmail", client().auth.signInWithEmail(email, password + "x"));
  assertError("signInWithEmail before confirming, wrong password", wrong.errors, 401, "invalid_credentials");
});

test("resendVerificationEmail, the confirm link and getAuthGrant give user and session", opts, async () => {
  const email = newEmail("confirm");
  const password = newPassword();
  assertNoErrors("signUpWithEmail", await call("signUpWithEmail", client().auth.signUpWithEmail(email, password, "C")));
  await latestMail(email, "sign-up confirmation mail");

  const resend = await call("resendVerificationEmail", client().auth.resendVerificationEmail(email));
  assertNoErrors("resendVerificationEmail", resend);
  const q = await followMail(email, "email-confirm");
  assertNonEmptyString(q.access_token, "email-confirm redirect access_token");

  const c = client();
  const grant = await call("getAuthGrant", c.auth.getAuthGrant(q.access_token));
  assertNoErrors("getAuthGrant", grant);
  checkUser(grant.user, "grant.user");
  checkSession(grant.session, "grant.session");
  assert.equal(grant.user.email, email);
  assert.equal(grant.user.emailVerified, true, "the confirmed address must be verified");
  assert.equal(grant.session.userId, grant.user._id);
  const me = await assertAlive(c, "granted session");
  assert.equal(me._id, grant.user._id);

  const again = await call("getAuthGrant again", client().auth.getAuthGrant(q.access_token));
  assertError("getAuthGrant with a spent key", again.errors, 400, "invalid_token");
  const bogus = await call("getAuthGrant bogus", client().auth.getAuthGrant("bogus-" + hex(16)));
  assertError("getAuthGrant with an unknown key", bogus.errors, 400, "invalid_token");
});

test("a made-up email link redirects with status and error, and no access_token", opts, async () => {
  const q = await follow(`${BASE}/_auth/verify?key=bogus-${hex(16)}`, "follow a made-up link");
  assert.notEqual(q.status, "200", `a made-up link must not succeed, redirect was ${q._location}`);
  assert.match(q.status ?? "", /^[45]\d\d$/, `status must be an HTTP error status, redirect was ${q._location}`);
  assertNonEmptyString(q.error, "error in the failure redirect");
  assert.equal(q.access_token, undefined, `a failed link carries no access_token, redirect was ${q._location}`);
});

test("signInWithEmail works; wrong password and unknown user answer alike", opts, async () => {
  const acct = await confirmedAccount("signin");
  const ok = await signedIn(acct.email, acct.password);
  assert.equal(ok.user._id, acct.user._id);
  assert.equal(ok.user.email, acct.email);
  assert.equal(ok.user.emailVerified, true);
  assert.equal(ok.session.userId, acct.user._id);
  assert.notEqual(ok.session.token, acct.session.token, "each sign-in makes a new session");

  const wrong = await call("signInWithEmail wrong password", client().auth.signInWithEmail(acct.email, acct.password + "x"));
  assertError("signInWithEmail with a wrong password", wrong.errors, 401, "invalid_credentials");
  const unknown = await call("signInWithEmail unknown", client().auth.signInWithEmail(newEmail("nobody"), acct.password));
  assertError("signInWithEmail for an unknown user", unknown.errors, 401, "invalid_credentials");
  assert.equal(unknown.errors.status, wrong.errors.status);
  assert.deepEqual(
    unknown.errors.items.map((i) => i.code),
    wrong.errors.items.map((i) => i.code),
    "unknown user and wrong password must give the same codes",
  );
});

test("getUserFromDB answers the signed-in user, and 401 without a session", opts, async () => {
  const acct = await confirmedAccount("user");
  const me = await assertAlive(acct.client, "signed in");
  assert.equal(me._id, acct.user._id);
  assert.equal(me.email, acct.email);
  assert.equal(me.name, "Compat user");

  const none = await call("getUserFromDB without a session", client().auth.getUserFromDB());
  assertError("getUserFromDB without a session", none.errors, 401, "missing_session_token");
  await assertDead(clientWithToken("bogus-" + hex(16)), "made-up token");
});

test("getAllSessions lists handles; signOut(handle) ends that other session", opts, async () => {
  const acct = await confirmedAccount("sessions");
  const a = acct.client;

  const before = await call("getAllSessions", a.auth.getAllSessions());
  assertNoErrors("getAllSessions", before);
  assert.ok(Array.isArray(before.sessions), `sessions must be an array, got ${show(before.sessions)}`);
  before.sessions.forEach((s, i) => checkSession(s, `sessions[${i}]`));

  const b = await signedIn(acct.email, acct.password, "signInWithEmail (second device)");
  const after = await call("getAllSessions", a.auth.getAllSessions());
  assertNoErrors("getAllSessions", after);
  assert.ok(Array.isArray(after.sessions), `sessions must be an array, got ${show(after.sessions)}`);
  assert.equal(after.sessions.length, before.sessions.length + 1, "the second sign-in adds one session");
  const realTokens = [acct.session.token, b.session.token];
  for (const [i, s] of after.sessions.entries()) {
    checkSession(s, `sessions[${i}]`);
    assert.equal(s.userId, acct.user._id);
    assert.ok(!realTokens.includes(s.token), `sessions[${i}].token must be a handle, not the real token`);
  }
  const handles = new Set(after.sessions.map((s) => s.token));
  assert.equal(handles.size, after.sessions.length, "handles must differ");
  const old = new Set(before.sessions.map((s) => s.token));
  const bHandle = after.sessions.map((s) => s.token).find((h) => !old.has(h));

  const out = await call("signOut(handle)", a.auth.signOut(bHandle));
  assertNoErrors("signOut(handle of the other session)", out);
  await assertDead(b.client, "the session signed out by handle");
  await assertAlive(a, "the session that signed the other out");

  const left = await call("getAllSessions", a.auth.getAllSessions());
  assertNoErrors("getAllSessions", left);
  assert.ok(!left.sessions.some((s) => s.token === bHandle), "the signed-out session must no longer be listed");
});

test("sendMagicLinkEmail, the magic link and getAuthGrant sign in", opts, async () => {
  const acct = await confirmedAccount("magic");
  const sent = await call("sendMagicLinkEmail", client().auth.sendMagicLinkEmail(acct.email));
  assertNoErrors("sendMagicLinkEmail", sent);
  const q = await followMail(acct.email, "magic-link");
  assertNonEmptyString(q.access_token, "magic-link redirect access_token");

  const c = client();
  const grant = await call("getAuthGrant", c.auth.getAuthGrant(q.access_token));
  assertNoErrors("getAuthGrant after magic link", grant);
  checkUser(grant.user, "grant.user");
  checkSession(grant.session, "grant.session");
  assert.equal(grant.user._id, acct.user._id);
  assert.notEqual(grant.session.token, acct.session.token);
  await assertAlive(c, "magic-link session");

  const again = await call("getAuthGrant again", client().auth.getAuthGrant(q.access_token));
  assertError("getAuthGrant with a spent magic-link key", again.errors, 400, "invalid_token");
});

test("send-magic, send-reset and resend answer alike for an unknown email and send nothing", opts, async () => {
  const unknown = newEmail("unknown");
  const c = client();
  assertNoErrors("sendMagicLinkEmail (unknown)", await call("sendMagicLinkEmail", c.auth.sendMagicLinkEmail(unknown)));
  assertNoErrors("sendResetPwdEmail (unknown)", await call("sendResetPwdEmail", c.auth.sendResetPwdEmail(unknown)));
  assertNoErrors("resendVerificationEmail (unknown)", await call("resendVerificationEmail", c.auth.resendVerificationEmail(unknown)));

  // Mail goes out in the background: let a known account's mail arrive
  // first, then give the unknown one a little longer.
  const acct = await confirmedAccount("known");
  assertNoErrors("sendMagicLinkEmail (known)", await call("sendMagicLinkEmail", c.auth.sendMagicLinkEmail(acct.email)));
  await latestMail(acct.email, "magic-link mail to a known account");
  await sleep(500);
  await assertNoMailTo(unknown, "send-magic/send-reset/resend for an unknown email");
});

test("an email with + works in the methods that put it in the query string", opts, async () => {
  // The client does not encode the email in ?email=, so + arrives as a space.
  const email = `compat+plus-${hex(5)}@example.com`;
  const acct = await confirmedAccount("plus", email);
  assert.equal(acct.user.email, email);
  assertNoErrors("sendMagicLinkEmail (+)", await call("sendMagicLinkEmail", client().auth.sendMagicLinkEmail(email)));
  await followMail(email, "magic-link");
});

test("sendResetPwdEmail and resetPwdWithToken reset the password and end every session", opts, async () => {
  const acct = await confirmedAccount("reset");
  const other = await signedIn(acct.email, acct.password, "signInWithEmail (second device)");

  assertNoErrors("sendResetPwdEmail", await call("sendResetPwdEmail", client().auth.sendResetPwdEmail(acct.email)));
  const q = await followMail(acct.email, "reset-pwd");
  assertNonEmptyString(q.access_token, "reset-pwd redirect access_token");

  const c = client();
  const newPw = newPassword();
  const reset = await call("resetPwdWithToken", c.auth.resetPwdWithToken(q.access_token, newPw));
  assertNoErrors("resetPwdWithToken", reset);

  await assertDead(acct.client, "session from before the reset");
  await assertDead(other.client, "other session from before the reset");
  const old = await call("signInWithEmail old password", client().auth.signInWithEmail(acct.email, acct.password));
  assertError("signInWithEmail with the old password", old.errors, 401, "invalid_credentials");
  const now = await signedIn(acct.email, newPw, "signInWithEmail with the new password");
  const list = await call("getAllSessions", now.client.auth.getAllSessions());
  assertNoErrors("getAllSessions after the reset", list);
  assert.equal(list.sessions.length, 1, `the reset must sign nobody in: only the new sign-in's session may exist, got ${show(list.sessions)}`);

  const again = await call("resetPwdWithToken again", client().auth.resetPwdWithToken(q.access_token, newPassword()));
  assertError("resetPwdWithToken with a spent token", again.errors, 400, "invalid_token");
});

test("resetPwdWithToken with a too short password is refused and leaves the token usable", opts, async () => {
  const acct = await confirmedAccount("resetshort");
  assertNoErrors("sendResetPwdEmail", await call("sendResetPwdEmail", client().auth.sendResetPwdEmail(acct.email)));
  const q = await followMail(acct.email, "reset-pwd");
  const short = await call("resetPwdWithToken short", client().auth.resetPwdWithToken(q.access_token, "Zq7!xYw"));
  assertError("resetPwdWithToken with 7 characters", short.errors, 400, "password_too_short");
  const newPw = newPassword();
  assertNoErrors("resetPwdWithToken", await call("resetPwdWithToken", client().auth.resetPwdWithToken(q.access_token, newPw)));
  await signedIn(acct.email, newPw, "signInWithEmail with the new password");
});

test("changePassword checks the old password and ends the other sessions", opts, async () => {
  const acct = await confirmedAccount("chpwd");
  const a = acct.client;
  const other = await signedIn(acct.email, acct.password, "signInWithEmail (second device)");
  const newPw = newPassword();

  const wrong = await call("changePassword wrong old", a.auth.changePassword(newPw, acct.password + "x"));
  assertError("changePassword with a wrong old password", wrong.errors, 403, "wrong_password");
  const short = await call("changePassword short", a.auth.changePassword("Zq7!xYw", acct.password));
  assertError("changePassword to 7 characters", short.errors, 400, "password_too_short");
  await assertAlive(a, "after refused password changes");
  await assertAlive(other.client, "other session after refused password changes");

  assertNoErrors("changePassword", await call("changePassword", a.auth.changePassword(newPw, acct.password)));
  await assertAlive(a, "the session that changed the password");
  await assertDead(other.client, "other session after the password change");
  const old = await call("signInWithEmail old password", client().auth.signInWithEmail(acct.email, acct.password));
  assertError("signInWithEmail with the old password", old.errors, 401, "invalid_credentials");
  await signedIn(acct.email, newPw, "signInWithEmail with the new password");
});

test("changeEmail checks the password, applies when the link's key is exchanged and notifies the old address", opts, async () => {
  const acct = await confirmedAccount("chmail");
  const a = acct.client;
  const target = newEmail("chmail-new");

  const wrong = await call("changeEmail wrong password", a.auth.changeEmail(acct.password + "x", target));
  assertError("changeEmail with a wrong password", wrong.errors, 403, "wrong_password");

  const res = await call("changeEmail", a.auth.changeEmail(acct.password, target));
  assertNoErrors("changeEmail", res);
  checkUser(res.user, "changeEmail user");
  assert.equal(res.user._id, acct.user._id);
  assert.equal(res.user.email, acct.email, "until the link is followed the email stays the same");

  const q = await followMail(target, "change-email");
  assertNonEmptyString(q.access_token, "change-email redirect access_token");
  const before = await assertAlive(a, "the session that asked for the change");
  assert.equal(before.email, acct.email, "following the link changes nothing");
  const grant = await call("getAuthGrant after change-email", client().auth.getAuthGrant(q.access_token));
  assertNoErrors("getAuthGrant after change-email", grant);
  checkUser(grant.user, "change-email grant.user");
  checkSession(grant.session, "change-email grant.session");
  assert.equal(grant.user.email, target, "exchanging the key applies the change");

  const now = await signedIn(target, acct.password, "signInWithEmail with the new email");
  assert.equal(now.user._id, acct.user._id);
  assert.equal(now.user.email, target);
  const old = await call("signInWithEmail old email", client().auth.signInWithEmail(acct.email, acct.password));
  assertError("signInWithEmail with the old email", old.errors, 401, "invalid_credentials");
  const me = await assertAlive(a, "the session that changed the email");
  assert.equal(me.email, target);

  const notice = await latestMail(acct.email, "email-changed notice to the old address");
  assert.ok(notice.body.includes(target) || notice.subject.length > 0, "the notice names the change");
});

test("signOutAllExceptCurrent ends every other session", opts, async () => {
  const acct = await confirmedAccount("allexcept");
  const b = await signedIn(acct.email, acct.password, "signInWithEmail (device b)");
  const c = await signedIn(acct.email, acct.password, "signInWithEmail (device c)");
  assertNoErrors("signOutAllExceptCurrent", await call("signOutAllExceptCurrent", acct.client.auth.signOutAllExceptCurrent()));
  await assertAlive(acct.client, "the current session");
  await assertDead(b.client, "device b");
  await assertDead(c.client, "device c");
  const list = await call("getAllSessions", acct.client.auth.getAllSessions());
  assertNoErrors("getAllSessions", list);
  assert.equal(list.sessions.length, 1, `one session must be left, got ${show(list.sessions)}`);
});

test("signOutAll ends every session, the current one included", opts, async () => {
  const acct = await confirmedAccount("all");
  const b = await signedIn(acct.email, acct.password, "signInWithEmail (device b)");
  assertNoErrors("signOutAll", await call("signOutAll", acct.client.auth.signOutAll()));
  await assertDead(clientWithToken(acct.session.token), "the current session's token");
  await assertDead(b.client, "device b");
});

test("signOut() ends the current session", opts, async () => {
  const acct = await confirmedAccount("signout");
  const b = await signedIn(acct.email, acct.password, "signInWithEmail (device b)");
  assertNoErrors("signOut()", await call("signOut()", acct.client.auth.signOut()));
  // The client drops its session on signOut(), so it now sends none.
  const none = await call("getUserFromDB after signOut()", acct.client.auth.getUserFromDB());
  assertError("getUserFromDB after signOut()", none.errors, 401, "missing_session_token");
  await assertDead(clientWithToken(acct.session.token), "the signed-out session's token");
  await assertAlive(b.client, "another device");
});

// ------------------------------------------------------ second factors

// The example serves second factors (Config.MFA) in development mode. The
// Altogic client has no method for them: an app calls the kit's mfa routes
// through the client's own endpoint manager, which sends its session, and
// hands the session they answer back to the client with setSession.

/** RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at time ms. */
function totp(secret, ms = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

const MFA = "/_api/rest/v1/auth/mfa/";

test("a second factor: signInWithEmail answers mfa_required with a ticket, mfa/verify signs the client in, changePassword asks for a step-up", opts, async () => {
  const acct = await confirmedAccount("mfa");
  const a = acct.client;
  const enrol = await call("mfa/totp/enrol", a.endpoint.post(MFA + "totp/enrol", {}));
  assertNoErrors("mfa/totp/enrol", enrol);
  assert.match(enrol.data.secret, /^[A-Z2-7]{32}$/);
  const confirm = await call("mfa/totp/confirm", a.endpoint.post(MFA + "totp/confirm", { code: totp(enrol.data.secret) }));
  assertNoErrors("mfa/totp/confirm", confirm);
  assert.equal(confirm.data.recoveryCodes.length, 10);

  // A sign-in stops at the first factor: the client passes the error,
  // its details and no session through.
  const c = client();
  const first = await call("signInWithEmail (second factor)", c.auth.signInWithEmail(acct.email, acct.password));
  assertError("signInWithEmail of an account with an authenticator", first.errors, 401, "mfa_required");
  assert.equal(first.session, null);
  const ticket = first.errors.items[0].details?.ticket;
  assertNonEmptyString(ticket, "errors.items[0].details.ticket");
  const wrong = await call("mfa/verify wrong", c.endpoint.post(MFA + "verify", { ticket, code: "000000" }));
  assertError("mfa/verify with a wrong code", wrong.errors, 400, "invalid_code");
  // The next step's code: the confirmation spent this one.
  const verified = await call("mfa/verify", c.endpoint.post(MFA + "verify", { ticket, code: totp(enrol.data.secret, Date.now() + 30_000) }));
  assertNoErrors("mfa/verify", verified);
  checkSession(verified.data.session, "mfa/verify session");
  c.auth.setSession(verified.data.session);
  c.auth.setUser(verified.data.user);
  await assertAlive(c, "the client signed in with two factors");

  // The session that enrolled proved one factor: a credential change
  // asks it to step up, with a recovery code here.
  const newPw = newPassword();
  const refused = await call("changePassword before a step-up", a.auth.changePassword(newPw, acct.password));
  assertError("changePassword from a one-factor session", refused.errors, 403, "mfa_step_up_required");
  const up = await call("mfa/step-up", a.endpoint.post(MFA + "step-up", { code: confirm.data.recoveryCodes[0] }));
  assertNoErrors("mfa/step-up", up);
  await assertDead(a, "the session a step-up replaced");
  a.auth.setSession(up.data.session);
  assertNoErrors("changePassword after a step-up", await call("changePassword", a.auth.changePassword(newPw, acct.password)));
});

// -------------------------------------------------------------- texts

// A fresh number for each account: +1 555 and seven random digits, a
// possible (never assigned) US number, as in the seeds.
const newPhone = () => `+1555${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, "0")}`;
const isText = (m, to) => m?.kind === "sms" && m.to === to;

/** The newest text to `to` not returned before; polls the outbox for up to MAIL_WAIT. */
async function latestText(to, what = `text to ${to}`) {
  const deadline = Date.now() + MAIL_WAIT;
  for (;;) {
    const list = await outbox();
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (isText(m, to) && !seenMail.has(mailKey(m))) {
        seenMail.add(mailKey(m));
        assert.equal(typeof m.body, "string", `${what}: body`);
        return m;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: no new text to ${to} in the outbox within ${MAIL_WAIT} ms`);
    }
    await sleep(50);
  }
}

/** Fails if a text to `to` not returned by latestText is in the outbox. */
async function assertNoNewTextTo(to, what) {
  const list = await outbox();
  const found = list.filter((m) => isText(m, to) && !seenMail.has(mailKey(m)));
  assert.equal(found.length, 0, `${what}: expected no new text to ${to}, found ${show(found)}`);
}

/** The code of the newest text to `to`. */
async function codeTo(to, what) {
  const text = await latestText(to, what);
  const m = text.body.match(/\b\d{6}\b/);
  assert.ok(m, `${what}: no 6-digit code in the text:\n${text.body}`);
  return m[0];
}

/** Signs up with a new phone number and confirms it with verifyPhone; returns a signed-in client. */
async function verifiedPhoneAccount(tag, phone = newPhone()) {
  const password = newPassword();
  const up = await call("signUpWithPhone", client().auth.signUpWithPhone(phone, password, `Compat ${tag}`));
  assertNoErrors("signUpWithPhone", up);
  assert.equal(up.session, null, "sign-up with phone confirmation on must answer session null");
  const code = await codeTo(phone, "sign-up confirmation text");
  const c = client();
  const res = await call("verifyPhone", c.auth.verifyPhone(phone, code));
  assertNoErrors("verifyPhone", res);
  checkUser(res.user, "verifyPhone user");
  checkSession(res.session, "verifyPhone session");
  return { phone, password, client: c, user: res.user, session: res.session };
}

/** A new client signed in with phone and password (another device). */
async function signedInByPhone(phone, password, what = "signInWithPhone") {
  const c = client();
  const res = await call(what, c.auth.signInWithPhone(phone, password));
  assertNoErrors(what, res);
  checkUser(res.user, `${what} user`);
  checkSession(res.session, `${what} session`);
  return { client: c, user: res.user, session: res.session };
}

// --------------------------------------------------------- phone tests

test("signUpWithPhone answers the user and a null session; verifyPhone signs in", opts, async () => {
  const phone = newPhone();
  const spaced = `${phone.slice(0, 2)} (${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
  const password = newPassword();
  const res = await call("signUpWithPhone", client().auth.signUpWithPhone(spaced, password, { name: "Jobby", phoneVerified: true }));
  assertNoErrors("signUpWithPhone", res);
  assert.equal(res.session, null, "sign-up with phone confirmation on must answer session null");
  checkUser(res.user);
  assert.equal(res.user.phone, phone, "the number is stored in E.164");
  assert.equal(res.user.phoneVerified, false, "phoneVerified from user data must be ignored");
  assert.equal(res.user.name, "Jobby");
  assert.equal(res.user.provider, "altogic");

  const early = await call("signInWithPhone", client().auth.signInWithPhone(phone, password));
  assertError("signInWithPhone before confirming", early.errors, 403, "phone_not_verified");
  assert.equal(early.session, null);
  const wrongPw = await call("signInWithPhone", client().auth.signInWithPhone(phone, password + "x"));
  assertError("signInWithPhone before confirming, wrong password", wrongPw.errors, 401, "invalid_credentials");

  const code = await codeTo(phone, "sign-up confirmation text");
  const wrong = await call("verifyPhone wrong code", client().auth.verifyPhone(phone, code === "000000" ? "000001" : "000000"));
  assertError("verifyPhone with a wrong code", wrong.errors, 400, "invalid_code");
  const c = client();
  const ok = await call("verifyPhone", c.auth.verifyPhone(phone, code));
  assertNoErrors("verifyPhone", ok);
  checkUser(ok.user, "verifyPhone user");
  checkSession(ok.session, "verifyPhone session");
  assert.equal(ok.user._id, res.user._id);
  assert.equal(ok.user.phoneVerified, true);
  assert.equal(ok.session.userId, res.user._id);
  const me = await assertAlive(c, "the session verifyPhone gave");
  assert.equal(me.phone, phone);

  const again = await call("verifyPhone again", client().auth.verifyPhone(phone, code));
  assertError("verifyPhone with a spent code", again.errors, 400, "invalid_code");
});

test("signUpWithPhone refuses a malformed number, a taken one and a short password", opts, async () => {
  const bad = await call("signUpWithPhone", client().auth.signUpWithPhone("555-0100", newPassword(), "Bad"));
  assertError("signUpWithPhone with a national number", bad.errors, 400, "invalid_phone");
  const letters = await call("signUpWithPhone", client().auth.signUpWithPhone("+1-800-FLOWERS", newPassword(), "Bad"));
  assertError("signUpWithPhone with letters", letters.errors, 400, "invalid_phone");
  const phone = newPhone();
  const short = await call("signUpWithPhone", client().auth.signUpWithPhone(phone, "Zq7!xYw", "Shorty"));
  assertError("signUpWithPhone with 7 characters", short.errors, 400, "password_too_short");
  await verifiedPhoneAccount("first", phone);
  const dup = await call("signUpWithPhone", client().auth.signUpWithPhone(phone, newPassword(), "Second"));
  assertError("second signUpWithPhone", dup.errors, 409, "phone_taken");
  assert.equal(dup.user, null);
  assert.equal(dup.session, null);
});

test("resendVerificationCode answers alike for any number; inside the resend gap the first code still works", opts, async () => {
  const phone = newPhone();
  const password = newPassword();
  assertNoErrors("signUpWithPhone", await call("signUpWithPhone", client().auth.signUpWithPhone(phone, password, "R")));
  const code = await codeTo(phone, "sign-up confirmation text");

  const resend = await call("resendVerificationCode", client().auth.resendVerificationCode(phone));
  assertNoErrors("resendVerificationCode", resend);
  const unknown = newPhone();
  assertNoErrors("resendVerificationCode (unknown)", await call("resendVerificationCode", client().auth.resendVerificationCode(unknown)));
  const bad = await call("resendVerificationCode (malformed)", client().auth.resendVerificationCode("12"));
  assertError("resendVerificationCode with a malformed number", bad.errors, 400, "invalid_phone");

  await sleep(500);
  await assertNoNewTextTo(phone, "resendVerificationCode less than 60 s after the sign-up's code");
  await assertNoNewTextTo(unknown, "resendVerificationCode for an unknown number");
  const ok = await call("verifyPhone", client().auth.verifyPhone(phone, code));
  assertNoErrors("verifyPhone with the first code after a skipped resend", ok);
  checkSession(ok.session, "verifyPhone session");
});

test("signInWithPhone works; wrong password and unknown number answer alike", opts, async () => {
  const acct = await verifiedPhoneAccount("phonesignin");
  const ok = await signedInByPhone(acct.phone, acct.password);
  assert.equal(ok.user._id, acct.user._id);
  assert.equal(ok.user.phone, acct.phone);
  assert.equal(ok.user.phoneVerified, true);
  assert.notEqual(ok.session.token, acct.session.token, "each sign-in makes a new session");

  const wrong = await call("signInWithPhone wrong", client().auth.signInWithPhone(acct.phone, acct.password + "x"));
  assertError("signInWithPhone with a wrong password", wrong.errors, 401, "invalid_credentials");
  const unknown = await call("signInWithPhone unknown", client().auth.signInWithPhone(newPhone(), acct.password));
  assertError("signInWithPhone for an unknown number", unknown.errors, 401, "invalid_credentials");
  assert.deepEqual(
    unknown.errors.items.map((i) => [i.code, i.message]),
    wrong.errors.items.map((i) => [i.code, i.message]),
    "unknown number and wrong password must give the same errors",
  );
});

test("sendSignInCode and signInWithCode sign in; a code works once", opts, async () => {
  const acct = await verifiedPhoneAccount("code");
  assertNoErrors("sendSignInCode", await call("sendSignInCode", client().auth.sendSignInCode(acct.phone)));
  const code = await codeTo(acct.phone, "sign-in code text");

  const c = client();
  const res = await call("signInWithCode", c.auth.signInWithCode(acct.phone, code));
  assertNoErrors("signInWithCode", res);
  checkUser(res.user, "signInWithCode user");
  checkSession(res.session, "signInWithCode session");
  assert.equal(res.user._id, acct.user._id);
  assert.notEqual(res.session.token, acct.session.token);
  await assertAlive(c, "the session signInWithCode gave");

  const again = await call("signInWithCode again", client().auth.signInWithCode(acct.phone, code));
  assertError("signInWithCode with a spent code", again.errors, 400, "invalid_code");
  const letters = await call("signInWithCode letters", client().auth.signInWithCode(acct.phone, "12a456"));
  assertError("signInWithCode with letters", letters.errors, 400, "invalid_code");
  const empty = await call("signInWithCode empty", client().auth.signInWithCode(acct.phone, ""));
  assertError("signInWithCode with an empty code", empty.errors, 400, "invalid_code");
});

test("send-code, send-reset-code and resend-code answer alike for an unknown number and text nothing", opts, async () => {
  const unknown = newPhone();
  const c = client();
  assertNoErrors("sendSignInCode (unknown)", await call("sendSignInCode", c.auth.sendSignInCode(unknown)));
  assertNoErrors("sendResetPwdCode (unknown)", await call("sendResetPwdCode", c.auth.sendResetPwdCode(unknown)));
  assertNoErrors("resendVerificationCode (unknown)", await call("resendVerificationCode", c.auth.resendVerificationCode(unknown)));
  // An unconfirmed number gets no sign-in or reset code either.
  const pending = newPhone();
  assertNoErrors("signUpWithPhone", await call("signUpWithPhone", c.auth.signUpWithPhone(pending, newPassword(), "P")));
  await latestText(pending, "sign-up confirmation text");
  assertNoErrors("sendSignInCode (unconfirmed)", await call("sendSignInCode", c.auth.sendSignInCode(pending)));
  assertNoErrors("sendResetPwdCode (unconfirmed)", await call("sendResetPwdCode", c.auth.sendResetPwdCode(pending)));

  // Texts go out in the background: let a known number's text arrive
  // first, then give the others a little longer.
  const acct = await verifiedPhoneAccount("knownphone");
  assertNoErrors("sendSignInCode (known)", await call("sendSignInCode", c.auth.sendSignInCode(acct.phone)));
  await latestText(acct.phone, "sign-in code text to a known number");
  await sleep(500);
  await assertNoNewTextTo(unknown, "send-code/send-reset-code/resend-code for an unknown number");
  await assertNoNewTextTo(pending, "send-code/send-reset-code for an unconfirmed number");
});

test("sendResetPwdCode and resetPwdWithCode reset the password and end every session", opts, async () => {
  const acct = await verifiedPhoneAccount("phonereset");
  const other = await signedInByPhone(acct.phone, acct.password, "signInWithPhone (second device)");
  assertNoErrors("sendResetPwdCode", await call("sendResetPwdCode", client().auth.sendResetPwdCode(acct.phone)));
  const code = await codeTo(acct.phone, "reset code text");

  const short = await call("resetPwdWithCode short", client().auth.resetPwdWithCode(acct.phone, code, "Zq7!xYw"));
  assertError("resetPwdWithCode with 7 characters", short.errors, 400, "password_too_short");
  const newPw = newPassword();
  assertNoErrors("resetPwdWithCode", await call("resetPwdWithCode", client().auth.resetPwdWithCode(acct.phone, code, newPw)));

  await assertDead(acct.client, "session from before the reset");
  await assertDead(other.client, "other session from before the reset");
  const old = await call("signInWithPhone old password", client().auth.signInWithPhone(acct.phone, acct.password));
  assertError("signInWithPhone with the old password", old.errors, 401, "invalid_credentials");
  const now = await signedInByPhone(acct.phone, newPw, "signInWithPhone with the new password");
  const list = await call("getAllSessions", now.client.auth.getAllSessions());
  assertNoErrors("getAllSessions after the reset", list);
  assert.equal(list.sessions.length, 1, `the reset must sign nobody in, got ${show(list.sessions)}`);

  const again = await call("resetPwdWithCode again", client().auth.resetPwdWithCode(acct.phone, code, newPassword()));
  assertError("resetPwdWithCode with a spent code", again.errors, 400, "invalid_code");
});

test("changePhone checks the password, confirms with verifyPhone and tells the old number", opts, async () => {
  const acct = await verifiedPhoneAccount("chphone");
  const a = acct.client;
  const target = newPhone();

  const wrong = await call("changePhone wrong password", a.auth.changePhone(acct.password + "x", target));
  assertError("changePhone with a wrong password", wrong.errors, 403, "wrong_password");
  const same = await call("changePhone same number", a.auth.changePhone(acct.password, acct.phone));
  assertError("changePhone to the current number", same.errors, 400, "phone_unchanged");
  const bad = await call("changePhone malformed", a.auth.changePhone(acct.password, "0100"));
  assertError("changePhone to a malformed number", bad.errors, 400, "invalid_phone");

  const res = await call("changePhone", a.auth.changePhone(acct.password, target));
  assertNoErrors("changePhone", res);
  checkUser(res.user, "changePhone user");
  assert.equal(res.user._id, acct.user._id);
  assert.equal(res.user.phone, acct.phone, "until the new number confirms the number stays the same");

  const code = await codeTo(target, "change-phone code text");
  const v = await call("verifyPhone (change)", client().auth.verifyPhone(target, code));
  assertNoErrors("verifyPhone for a change of number", v);
  checkUser(v.user, "verifyPhone (change) user");
  assert.equal(v.session, null, "a change of number signs nobody in");
  assert.equal(v.user._id, acct.user._id);
  assert.equal(v.user.phone, target);
  assert.equal(v.user.phoneVerified, true);

  const notice = await latestText(acct.phone, "phone-changed notice to the old number");
  assert.ok(!/\b\d{6}\b/.test(notice.body), `the notice carries no code: ${notice.body}`);
  const me = await assertAlive(a, "the session that changed the number");
  assert.equal(me.phone, target);
  const now = await signedInByPhone(target, acct.password, "signInWithPhone with the new number");
  assert.equal(now.user._id, acct.user._id);
  const old = await call("signInWithPhone old number", client().auth.signInWithPhone(acct.phone, acct.password));
  assertError("signInWithPhone with the old number", old.errors, 401, "invalid_credentials");
});
