package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
)

// The statements of a Store, written with ? placeholders.
const (
	userColumns = `id, provider, provider_user_id, email, email_verified, phone, phone_verified,
		name, profile_picture, password_hash, profile, sign_up_at, last_login_at, stamp,
		access_groups, disabled, server_data`
	sessionColumns = `id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, stamp, factors`
	tokenColumns   = `hash, purpose, user_id, subject, action, link, attempts, stamp, data, created_at, expires_at`

	qCreateUser = `INSERT INTO authkit_users (` + userColumns + `, email_fold)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUserByID       = `SELECT ` + userColumns + ` FROM authkit_users WHERE id = ?`
	qUserByEmail    = `SELECT ` + userColumns + ` FROM authkit_users WHERE email_fold = ?`
	qUserByPhone    = `SELECT ` + userColumns + ` FROM authkit_users WHERE phone = ?`
	qUserByProvider = `SELECT ` + userColumns + ` FROM authkit_users WHERE provider = ? AND provider_user_id = ?`
	// qUsersAfter is a page of AllUsers or ListUsers: the users after an
	// id, by id, byte for byte. It takes, for %s, the id as the dialect
	// compares it so (see idBytes).
	qUsersAfter = `SELECT ` + userColumns + ` FROM authkit_users WHERE %[1]s > ? ORDER BY %[1]s LIMIT ?`
	// qUpdateUser takes, for %s, the "column = ?" list of the fields an
	// UpdateUser sets.
	qUpdateUser       = `UPDATE authkit_users SET %s WHERE id = ?`
	qKeepSessionStamp = `UPDATE authkit_sessions SET stamp = ? WHERE id = ? AND user_id = ?`
	// DeleteUser's statements, in the order it runs them (see there).
	qDeleteAllUserTokens   = `DELETE FROM authkit_tokens WHERE user_id = ?`
	qDeleteUser            = `DELETE FROM authkit_users WHERE id = ?`
	qDeleteAllUserSessions = `DELETE FROM authkit_sessions WHERE user_id = ?`
	qDeleteFactors         = `DELETE FROM authkit_factors WHERE user_id = ?`
	qDeleteRecoveryCodes   = `DELETE FROM authkit_recovery_codes WHERE user_id = ?`

	qSessionAndUser = `SELECT s.id, s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.ip, s.stamp, s.factors,
		u.id, u.provider, u.provider_user_id, u.email, u.email_verified, u.phone, u.phone_verified,
		u.name, u.profile_picture, u.password_hash, u.profile, u.sign_up_at, u.last_login_at, u.stamp,
		u.access_groups, u.disabled, u.server_data
		FROM authkit_sessions s JOIN authkit_users u ON u.id = s.user_id WHERE s.token_hash = ?`

	qCreateSession       = `INSERT INTO authkit_sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qSessionByTokenHash  = `SELECT ` + sessionColumns + ` FROM authkit_sessions WHERE token_hash = ?`
	qListSessions        = `SELECT ` + sessionColumns + ` FROM authkit_sessions WHERE user_id = ? ORDER BY created_at, id`
	qTouchSession        = `UPDATE authkit_sessions SET last_seen_at = ? WHERE id = ?`
	qDeleteSession       = `DELETE FROM authkit_sessions WHERE id = ? AND user_id = ?`
	qDeleteUserSessions  = `DELETE FROM authkit_sessions WHERE user_id = ? AND id <> ?`
	qDeleteExpiredSess   = `DELETE FROM authkit_sessions WHERE expires_at <= ? OR last_seen_at <= ?`
	qDeleteExpiredTokens = `DELETE FROM authkit_tokens WHERE expires_at <= ?`

	qCreateToken      = `INSERT INTO authkit_tokens (` + tokenColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qVoidTokens       = `DELETE FROM authkit_tokens WHERE user_id = ? AND purpose = ?`
	qTokenByHash      = `SELECT ` + tokenColumns + ` FROM authkit_tokens WHERE hash = ? AND expires_at > ?`
	qTokenForConsume  = `SELECT ` + tokenColumns + ` FROM authkit_tokens WHERE hash = ? AND purpose = ?`
	qDeleteToken      = `DELETE FROM authkit_tokens WHERE hash = ? AND purpose = ?`
	qDeleteUserTokens = `DELETE FROM authkit_tokens WHERE user_id = ? AND purpose IN (%s)`
	qLatestToken      = `SELECT ` + tokenColumns + ` FROM authkit_tokens
		WHERE purpose = ? AND subject = ? AND expires_at > ? ORDER BY created_at DESC, hash DESC LIMIT 1`
	qTokensBySubject = `SELECT ` + tokenColumns + ` FROM authkit_tokens
		WHERE purpose = ? AND subject = ? AND expires_at > ? ORDER BY created_at DESC, hash DESC`
	qClaimAttempt = `UPDATE authkit_tokens SET attempts = attempts + 1
		WHERE hash = ? AND expires_at > ? AND attempts < ?`

	factorColumns       = `user_id, kind, secret, active, last_step, created_at`
	qDeletePendingFact  = `DELETE FROM authkit_factors WHERE user_id = ? AND kind = ? AND active = ?`
	qInsertFactor       = `INSERT INTO authkit_factors (` + factorColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qFactorOf           = `SELECT ` + factorColumns + ` FROM authkit_factors WHERE user_id = ? AND kind = ?`
	qActivateFactor     = `UPDATE authkit_factors SET active = ?, last_step = ? WHERE user_id = ? AND kind = ? AND active = ? AND secret = ?`
	qAcceptStep         = `UPDATE authkit_factors SET last_step = ? WHERE user_id = ? AND kind = ? AND active = ? AND last_step < ?`
	qInsertRecoveryCode = `INSERT INTO authkit_recovery_codes (user_id, code_hash) VALUES (?, ?)`
	qConsumeRecovery    = `DELETE FROM authkit_recovery_codes WHERE user_id = ? AND code_hash = ?`
)

// queries holds every statement in the Store's dialect, rewritten once.
// userForUpdate is qUserByID with the dialect's row lock (see lockRow): the
// read of UpdateUser's transaction.
type queries struct {
	createUser, userByID, userByEmail, userByPhone, userByProvider, userForUpdate, keepSessionStamp string
	deleteAllUserTokens, deleteUser, deleteAllUserSessions, usersAfter                              string

	createSession, sessionByTokenHash, sessionAndUser, listSessions, touchSession string
	deleteSession, deleteUserSessions, deleteExpiredSessions, deleteExpiredTok    string

	createToken, voidTokens, tokenByHash, tokenForConsume, deleteToken string
	latestToken, tokensBySubject, claimAttempt                         string

	deleteFactors, deleteRecoveryCodes, deletePendingFactor, insertFactor, factorOf string
	activateFactor, acceptStep, insertRecoveryCode, consumeRecoveryCode             string

	passkeys passkeyQueries // passkeys.go
}

func newQueries(d Dialect) *queries {
	q := func(s string) string { return rebind(d, s) }
	return &queries{
		createUser: q(qCreateUser), userByID: q(qUserByID), userByEmail: q(qUserByEmail),
		userByPhone: q(qUserByPhone), userByProvider: q(qUserByProvider),
		userForUpdate: q(qUserByID) + lockRow(d), keepSessionStamp: q(qKeepSessionStamp),
		deleteAllUserTokens: q(qDeleteAllUserTokens), deleteUser: q(qDeleteUser),
		deleteAllUserSessions: q(qDeleteAllUserSessions), usersAfter: q(fmt.Sprintf(qUsersAfter, idBytes(d))),

		createSession: q(qCreateSession), sessionByTokenHash: q(qSessionByTokenHash), sessionAndUser: q(qSessionAndUser),
		listSessions: q(qListSessions), touchSession: q(qTouchSession),
		deleteSession: q(qDeleteSession), deleteUserSessions: q(qDeleteUserSessions),
		deleteExpiredSessions: q(qDeleteExpiredSess), deleteExpiredTok: q(qDeleteExpiredTokens),

		createToken: q(qCreateToken), voidTokens: q(qVoidTokens), tokenByHash: q(qTokenByHash),
		tokenForConsume: q(qTokenForConsume), deleteToken: q(qDeleteToken),
		latestToken: q(qLatestToken), tokensBySubject: q(qTokensBySubject), claimAttempt: q(qClaimAttempt),

		deleteFactors: q(qDeleteFactors), deleteRecoveryCodes: q(qDeleteRecoveryCodes),
		deletePendingFactor: q(qDeletePendingFact), insertFactor: q(qInsertFactor), factorOf: q(qFactorOf),
		activateFactor: q(qActivateFactor), acceptStep: q(qAcceptStep),
		insertRecoveryCode: q(qInsertRecoveryCode), consumeRecoveryCode: q(qConsumeRecovery),

		passkeys: newPasskeyQueries(d),
	}
}

// lockRow is the clause that makes a SELECT lock the rows it reads until
// the transaction ends. SQLite needs none: its write transactions begin
// IMMEDIATE, holding the database's one write lock from the start.
func lockRow(d Dialect) string {
	if d == SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// idBytes is a user's id as the dialect compares it byte for byte. SQLite
// compares text so (BINARY), and so does MySQL in the utf8mb4_bin tables
// of the migrations (by code point, UTF-8's byte order; but for trailing
// spaces, which the collation pads); PostgreSQL compares by the database's
// collation, unless told "C", which migration 0006 indexes.
func idBytes(d Dialect) string {
	if d == Postgres {
		return `id COLLATE "C"`
	}
	return "id"
}

// rebind rewrites the ? placeholders of query as PostgreSQL's $1, $2…; the
// other dialects take ? as written. No statement here has a ? in a literal.
func rebind(d Dialect, query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
