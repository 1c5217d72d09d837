package notify_test

import (
	"encoding/base64"
	"mime"
)

type mimeDecoder = mime.WordDecoder

func decodeBase64(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	return string(b), err
}
