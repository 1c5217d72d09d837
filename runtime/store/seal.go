package store

import (
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// Seal encrypts a secret with c for storage; what names it in errors.
func Seal(c secrets.Cipher, what, plain string) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%s: no secret key configured (set %s): %w", what, secrets.EnvKey, ErrInvalid)
	}
	sealed, err := c.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return sealed, nil
}

// Unseal decrypts a stored secret; a value that does not decrypt is an
// error wrapping ErrCorrupt.
func Unseal(c secrets.Cipher, what, sealed string) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%s is encrypted but no secret key is configured (set %s): %w", what, secrets.EnvKey, ErrInvalid)
	}
	plain, err := c.Decrypt(sealed)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", what, ErrCorrupt, err)
	}
	return plain, nil
}
