// Package account owns identity: sign-up and login with argon2id password hashes,
// session tokens (HS256 JWTs, revocable), roles, and streamers' stream keys (random,
// stored hashed, shown once). It decides who may publish to a room. Persistence is
// the system of record's (store); counters that must be shared across nodes (login
// attempts) go through a Limiter.
package account
