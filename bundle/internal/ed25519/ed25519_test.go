package ed25519

import (
	stded25519 "crypto/ed25519"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/edgeflag/edgeflag/bundle/internal/fence"
)

// same requires Verify and crypto/ed25519.Verify to agree.
func same(t *testing.T, pub, msg, sig []byte) bool {
	t.Helper()
	want := len(pub) == stded25519.PublicKeySize && stded25519.Verify(pub, msg, sig)
	if got := Verify(pub, msg, sig); got != want {
		t.Fatalf("pub %x msg %x sig %x: Verify %v, crypto/ed25519 %v", pub, msg, sig, got, want)
	}
	return want
}

// special are encodings at the edges of the group: the identity, points
// of small order, non-canonical encodings (y ≥ p), the order of the group
// as a scalar.
var special = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
}

// TestAgainstStd: real signatures verify; every single-bit change of the
// key, message or signature, special keys, R values and S values, and
// random bytes, get crypto/ed25519's answer.
func TestAgainstStd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 40; i++ {
		seed := make([]byte, 32)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		priv := stded25519.NewKeyFromSeed(seed)
		pub := priv.Public().(stded25519.PublicKey)
		msg := make([]byte, rng.IntN(300))
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		sig := stded25519.Sign(priv, msg)
		if !same(t, pub, msg, sig) {
			t.Fatal("a real signature does not verify")
		}
		for _, b := range [][]byte{pub, sig, msg} {
			if len(b) == 0 {
				continue
			}
			j, bit := rng.IntN(len(b)), byte(1<<rng.IntN(8))
			b[j] ^= bit
			same(t, pub, msg, sig)
			b[j] ^= bit
		}
		for _, s := range special {
			x, _ := hex.DecodeString(s)
			same(t, x, msg, sig)
			same(t, pub, msg, append(append([]byte{}, x...), sig[32:]...))
			same(t, pub, msg, append(append([]byte{}, sig[:32]...), x...))
		}
		same(t, pub, msg, sig[:63])
		same(t, pub[:31], msg, sig)
	}
}

func FuzzAgainstStd(f *testing.F) {
	priv := stded25519.NewKeyFromSeed(make([]byte, 32))
	f.Add([]byte(priv.Public().(stded25519.PublicKey)), []byte("m"), stded25519.Sign(priv, []byte("m")))
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) { same(t, pub, msg, sig) })
}

func TestPurityFence(t *testing.T) {
	fence.Check(t, ".", map[string]bool{"filippo.io/edwards25519": true, "github.com/edgeflag/edgeflag/bundle/internal/sha2": true})
}
