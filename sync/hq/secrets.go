package hq

import "context"

// SecretStore keeps HQ's own secrets (the key that signs follow-up links) with the data,
// so that a backup restores working links and every HQ process of a chain signs alike.
type SecretStore interface {
	// LoadOrCreateSecret returns the secret stored under name, first storing size
	// random bytes under it if there is none. Concurrent first calls, also from
	// several processes, all get the same secret.
	LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error)
}
