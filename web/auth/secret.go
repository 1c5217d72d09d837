package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password HashPassword accepts.
const MinPasswordLength = 8

// ErrWeakPassword is returned by HashPassword for a password that is too
// short or too long for bcrypt.
var ErrWeakPassword = errors.New("password must be 8 to 72 bytes long")

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength || len(password) > 72 {
		return "", ErrWeakPassword
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches the bcrypt hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// GeneratePassword returns a random password of 20 URL-safe characters.
func GeneratePassword() (string, error) {
	return randomString(15)
}

// TokenPrefix starts every API token, so that a leaked token is easy to
// recognise.
const TokenPrefix = "sft_"

// NewToken returns a new random API token and the hash to store for it.
func NewToken() (token, hash string, err error) {
	s, err := randomString(32)
	if err != nil {
		return "", "", err
	}
	token = TokenPrefix + s
	return token, HashToken(token), nil
}

// HashToken returns the hex SHA-256 of token, as the store keeps it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(sum[:])
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
