// Imported users sign in through the unchanged Altogic client: each of the
// accounts that `authkit users import` made from bcrypt hashes, listed in
// the JSON file AUTHKIT_IMPORTED names ([{email, password}]), signs in with
// signInWithEmail and gets a session and its user.
//
//	AUTHKIT_URL=http://127.0.0.1:8080 AUTHKIT_IMPORTED=users.json node --test imported.test.mjs
//
// `go test ./example -run TestImportedUsersSignInThroughTheClient` makes
// the accounts with the command, serves the example on them, and runs it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createClient } from "altogic";

const BASE = (process.env.AUTHKIT_URL ?? "").replace(/\/+$/, "");
const FILE = process.env.AUTHKIT_IMPORTED ?? "";
if (!/^https?:\/\//.test(BASE) || FILE === "") {
  throw new Error("set AUTHKIT_URL to the app's base URL and AUTHKIT_IMPORTED to the JSON file of the users to sign in");
}
const users = JSON.parse(readFileSync(FILE, "utf8"));

test(`${users.length} imported users sign in with their passwords`, { timeout: 300_000 }, async () => {
  assert.ok(users.length > 0, "no users to sign in");
  for (const { email, password } of users) {
    const altogic = createClient(BASE, "client-key");
    const { user, session, errors } = await altogic.auth.signInWithEmail(email, password);
    assert.equal(errors, null, `${email}: ${JSON.stringify(errors)}`);
    assert.equal(user.email, email);
    assert.ok(session?.token, `${email}: no session`);
    const wrong = await createClient(BASE, "client-key").auth.signInWithEmail(email, password + "x");
    assert.equal(wrong.errors?.items?.[0]?.code, "invalid_credentials", `${email}: a wrong password`);
  }
});
