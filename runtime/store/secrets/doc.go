// Package secrets keeps Starflow's secrets secret: it encrypts connection
// passwords and secret variables at rest with AES-256-GCM, loads the key
// from STARFLOW_SECRET_KEY or from a key file it creates on first use with
// 0600 permissions, and masks known secret values in task logs.
//
// An encrypted value is the text "sf1:" followed by the standard base64
// encoding of a random 12-byte nonce and the GCM ciphertext. The prefix
// names the format so that a later version can change it.
package secrets
