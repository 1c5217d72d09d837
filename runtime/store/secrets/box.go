package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// prefix starts every encrypted value.
const prefix = "sf1:"

// ErrDecrypt is returned when a value cannot be decrypted: it was
// encrypted with another key, or it was damaged.
var ErrDecrypt = errors.New("cannot decrypt secret (was it encrypted with another STARFLOW_SECRET_KEY?)")

// Cipher encrypts and decrypts secret strings. Box and Keyring implement it.
type Cipher interface {
	Encrypt(plain string) (string, error)
	Decrypt(sealed string) (string, error)
}

// Box encrypts and decrypts with one AES-256-GCM key. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

var _ Cipher = (*Box)(nil)

// NewBox returns a Box for a KeySize-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Encrypt seals plain with a fresh random nonce.
func (b *Box) Encrypt(plain string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt secret: %w", err)
	}
	sealed := b.aead.Seal(nonce, nonce, []byte(plain), nil)
	return prefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value made by Encrypt with the same key.
func (b *Box) Decrypt(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", fmt.Errorf("%w: not an encrypted value", ErrDecrypt)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	n := b.aead.NonceSize()
	if len(raw) < n+b.aead.Overhead() {
		return "", fmt.Errorf("%w: value too short", ErrDecrypt)
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}

// IsEncrypted reports whether s looks like a value made by Encrypt.
func IsEncrypted(s string) bool { return strings.HasPrefix(s, prefix) }

// NewKey returns a new random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	return key, nil
}

// EncodeKey returns the text form of a key: standard base64, as
// STARFLOW_SECRET_KEY and key files hold it (`openssl rand -base64 32`
// makes one).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// DecodeKey reads the text form of a key (standard or URL-safe base64,
// padded or not, surrounding space ignored).
func DecodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("secret key must decode to %d bytes, got %d (make one with `openssl rand -base64 32`)", KeySize, len(key))
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("secret key is not base64 (make one with `openssl rand -base64 32`)")
}
