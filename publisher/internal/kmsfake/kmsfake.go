// Package kmsfake is an in-process fake of the AWS KMS JSON protocol
// (awsJson1_1, X-Amz-Target: TrentService.<Operation>) for tests: enough of
// GetPublicKey and Sign, backed by real ECDSA P-256 keys, that the real
// aws-sdk-go-v2 KMS client can sign against it.
//
// Protocol facts (request/response members, error shape with "__type")
// follow the AWS KMS API reference for Sign and GetPublicKey and the
// awsJson1_1 protocol description in the Smithy specification.
package kmsfake

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is a running fake KMS endpoint; URL is its base endpoint.
type Server struct {
	*httptest.Server

	mu    sync.Mutex
	keys  map[string]*fakeKey
	signs int
}

type fakeKey struct {
	arn      string
	priv     *ecdsa.PrivateKey
	disabled bool
}

// New starts a fake KMS on 127.0.0.1. Close it when done.
func New() *Server {
	s := &Server{keys: map[string]*fakeKey{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddKey registers a P-256 key under keyID (also reachable by its ARN
// arn:aws:kms:us-east-1:111122223333:key/<keyID>) and returns the ARN.
func (s *Server) AddKey(keyID string, priv *ecdsa.PrivateKey) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &fakeKey{arn: "arn:aws:kms:us-east-1:111122223333:key/" + keyID, priv: priv}
	s.keys[keyID] = k
	s.keys[k.arn] = k
	return k.arn
}

// Disable makes the key answer DisabledException, as a disabled KMS key
// does.
func (s *Server) Disable(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[keyID].disabled = true
}

// Signs returns how many Sign calls succeeded.
func (s *Server) Signs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signs
}

type awsError struct {
	status int
	typ    string
	msg    string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	resp, e := s.handle(r)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	if e != nil {
		w.Header().Set("X-Amzn-Errortype", e.typ)
		w.WriteHeader(e.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
		return
	}
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) handle(r *http.Request) (any, *awsError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &awsError{404, "UnknownOperationException", "POST / only"}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, &awsError{400, "SerializationException", "content type " + ct}
	}
	// The real service checks the SigV4 signature; the fake checks that
	// the client signed at all.
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=") {
		return nil, &awsError{400, "MissingAuthenticationTokenException", "request is not signed"}
	}
	var in struct {
		KeyId            string
		Message          []byte // base64 in JSON, as blobs are
		MessageType      string
		SigningAlgorithm string
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&in); err != nil {
		return nil, &awsError{400, "SerializationException", err.Error()}
	}
	s.mu.Lock()
	k := s.keys[in.KeyId]
	s.mu.Unlock()
	if k == nil {
		return nil, &awsError{400, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyId)}
	}
	if k.disabled {
		return nil, &awsError{400, "DisabledException", k.arn + " is disabled."}
	}
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "TrentService.GetPublicKey":
		der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
		if err != nil {
			return nil, &awsError{500, "KMSInternalException", err.Error()}
		}
		return map[string]any{
			"KeyId":                 k.arn,
			"PublicKey":             der,
			"KeySpec":               "ECC_NIST_P256",
			"CustomerMasterKeySpec": "ECC_NIST_P256",
			"KeyUsage":              "SIGN_VERIFY",
			"SigningAlgorithms":     []string{"ECDSA_SHA_256"},
		}, nil
	case "TrentService.Sign":
		if in.SigningAlgorithm != "ECDSA_SHA_256" {
			return nil, &awsError{400, "InvalidKeyUsageException", "signing algorithm " + in.SigningAlgorithm + " is not valid for this key"}
		}
		digest := in.Message
		switch in.MessageType {
		case "DIGEST":
			if len(digest) != sha256.Size {
				return nil, &awsError{400, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256."}
			}
		case "", "RAW":
			if len(in.Message) > 4096 {
				return nil, &awsError{400, "ValidationException", "Message must be at most 4096 bytes"}
			}
			d := sha256.Sum256(in.Message)
			digest = d[:]
		default:
			return nil, &awsError{400, "ValidationException", "MessageType " + in.MessageType}
		}
		sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest)
		if err != nil {
			return nil, &awsError{500, "KMSInternalException", err.Error()}
		}
		s.mu.Lock()
		s.signs++
		s.mu.Unlock()
		return map[string]any{"KeyId": k.arn, "Signature": sig, "SigningAlgorithm": "ECDSA_SHA_256"}, nil
	default:
		return nil, &awsError{400, "UnknownOperationException", "operation " + target + " is not implemented by the fake"}
	}
}
