package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// EnvKey is the environment variable that holds the key.
const EnvKey = "STARFLOW_SECRET_KEY"

// Keyring is a Cipher that finds its key on first use: Key when it is set,
// otherwise the key file at File, which is created with a new random key
// and 0600 permissions when it does not exist. A failure is returned to
// the caller and retried on the next use. It is safe for concurrent use.
type Keyring struct {
	// Key is the text form of the key (see DecodeKey), usually the value
	// of STARFLOW_SECRET_KEY.
	Key string
	// File is the key file used when Key is empty.
	File string

	mu  sync.Mutex
	box *Box
}

var _ Cipher = (*Keyring)(nil)

// Encrypt seals plain with the keyring's key.
func (k *Keyring) Encrypt(plain string) (string, error) {
	b, err := k.load()
	if err != nil {
		return "", err
	}
	return b.Encrypt(plain)
}

// Decrypt opens a value sealed with the keyring's key.
func (k *Keyring) Decrypt(sealed string) (string, error) {
	b, err := k.load()
	if err != nil {
		return "", err
	}
	return b.Decrypt(sealed)
}

func (k *Keyring) load() (*Box, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.box != nil {
		return k.box, nil
	}
	key, err := k.readKey()
	if err != nil {
		return nil, err
	}
	b, err := NewBox(key)
	if err != nil {
		return nil, err
	}
	k.box = b
	return b, nil
}

func (k *Keyring) readKey() ([]byte, error) {
	if k.Key != "" {
		key, err := DecodeKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return key, nil
	}
	if k.File == "" {
		return nil, fmt.Errorf("no secret key: set %s or a key file", EnvKey)
	}
	return LoadOrCreateKeyFile(k.File)
}

// LoadOrCreateKeyFile reads the key in path, or creates the file with a new
// key and 0600 permissions when it does not exist. Two processes creating
// it at once agree on one key: the file is created exclusively and the
// loser reads the winner's.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := DecodeKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create key file directory: %w", err)
		}
	}
	// Write to a temporary file and link it into place, so that no reader
	// ever sees a half-written key and the first creator wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".starflow-key-*")
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := tmp.WriteString(EncodeKey(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("create key file: %w", err)
	}
	return key, nil
}
