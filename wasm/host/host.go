// Package host runs edgeflag's WebAssembly module (wasm/dist/edgeflag.wasm)
// from Go over wazero: for Go programs that want the engine and verifier
// isolated in a sandbox, and for the tests that hold the module to the
// native engine's results.
//
// A Host compiles the module once and keeps a pool of instances. Every
// instance holds the same trust and the same open bundle: SetTrust and Open
// check the change on one instance and the others catch up before their
// next call by replaying it (the same bytes, trust and time give the same
// outcome). An instance that traps — a bug, memory exhausted, a cancelled
// context — is discarded and a fresh one is built and brought up to date
// when next needed. A Host is safe for concurrent use.
//
// The ABI the package speaks is specified in docs/wasm-abi.md.
package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/edgeflag/edgeflag/bundle/envelope"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// ABIVersion is the ABI version (ef_abi_version) this package speaks.
const ABIVersion = 1

// ErrTrap reports that the module trapped (or exited) during a call; the
// instance was discarded and the next call runs on a fresh one.
var ErrTrap = errors.New("wasm instance trapped")

// errTrapUnlessReturned marks an instance whose test function did not
// return (t.Fatal): it is discarded, its state unknown.
var errTrapUnlessReturned = fmt.Errorf("%w: the test did not return", ErrTrap)

// ErrClosed reports a call on a closed Host.
var ErrClosed = errors.New("host closed")

// Error is an error result of the module: Name is its "error" member
// (ErrSignature, ErrExpired, ... for the verifier's rejections; ErrTrust,
// ErrJWKS, ErrContext, ErrArgument, ErrNoTrust, ErrNoBundle, ErrInternal
// for the module's own) and Message its "message".
type Error struct {
	Name    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Name + ": " + e.Message }

// Is reports whether target is the bundle/envelope sentinel of the same
// name, so that errors.Is(err, envelope.ErrSignature) works across the
// sandbox boundary.
func (e *Error) Is(target error) bool {
	return target != nil && envelope.ErrorName(target) == e.Name
}

// Cache is a compilation cache that Hosts can share: a module compiled
// once is not compiled again by another Host in the process, nor — with a
// directory — by another process.
type Cache struct {
	cc wazero.CompilationCache
}

// NewCache returns a compilation cache in memory (dir "") or in dir.
func NewCache(dir string) (*Cache, error) {
	if dir == "" {
		return &Cache{cc: wazero.NewCompilationCache()}, nil
	}
	cc, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open compilation cache: %w", err)
	}
	return &Cache{cc: cc}, nil
}

// Close releases the cache (after the Hosts using it are closed).
func (c *Cache) Close(ctx context.Context) error { return c.cc.Close(ctx) }

// Options configure a Host. The zero value is ready to use.
type Options struct {
	// Instances is the pool size, the number of calls that run at once;
	// 0 means runtime.GOMAXPROCS(0).
	Instances int
	// MemoryLimit caps each instance's linear memory in bytes (rounded
	// down to 64 KiB pages); 0 means the wasm maximum of 4 GiB. An
	// instance that needs more traps and is rebuilt.
	MemoryLimit int
	// Cache, when set, is the compilation cache to use; otherwise the Host
	// has its own in memory.
	Cache *Cache
}

// Trust is what opened bundles must satisfy (see docs/bundle-format.md,
// "Verification algorithm"). Durations are whole seconds.
type Trust struct {
	// JWKS is the trusted public keys: a JSON Web Key Set document, given
	// to the module's JWKS parser byte for byte.
	JWKS []byte
	// Algorithms allow-lists "alg" values; nil: every algorithm the module
	// verifies.
	Algorithms []string
	// Project, Environment and Audience ("server" or "client") are what a
	// bundle must be for.
	Project     string
	Environment string
	Audience    string
	// Grace is how long after its expiry a bundle is still accepted.
	Grace time.Duration
	// MaxSkew is how far in the future a bundle's issue time may be.
	MaxSkew time.Duration
	// LastVersion is the highest version accepted before (0: none).
	LastVersion uint64
	// MaxCompressed and MaxDecompressed limit the payload in bytes; 0
	// means the verifier's defaults.
	MaxCompressed   int
	MaxDecompressed int
}

// Claims are the verified claims of an opened bundle.
type Claims struct {
	Version     uint64 `json:"version"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Audience    string `json:"audience"`
	Algorithm   string `json:"algorithm"`
	KeyID       string `json:"keyId"`
	IssuedAt    int64  `json:"issuedAt"`  // Unix seconds
	ExpiresAt   int64  `json:"expiresAt"` // Unix seconds
	Flags       int    `json:"flags"`     // number of flags in the bundle
}

// Result is one evaluation, with the fields `edgeflag eval` prints; Value
// is the served value as JSON ("null" when there is none).
type Result struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Variant   string          `json:"variant"`
	Reason    string          `json:"reason"`
	ErrorCode string          `json:"errorCode,omitempty"`
	RuleID    string          `json:"ruleId,omitempty"`
	Version   uint64          `json:"version"`
}

// Host is a compiled module and a pool of its instances.
type Host struct {
	rt      wazero.Runtime
	cm      wazero.CompiledModule
	idle    chan *instance
	tokens  chan struct{}
	writeMu sync.Mutex   // serializes SetTrust and Open
	created atomic.Int64 // instances instantiated so far
	live    atomic.Int64 // instances instantiated and not closed

	mu     sync.Mutex // guards st and closed
	st     state
	closed bool
}

// state is what every instance must hold, as the calls that produce it.
type state struct {
	gen       uint64
	bundleGen uint64    // counts the bundles opened
	openTrust []byte    // the trust document the bundle was opened under
	bundle    []byte    // the open bundle (nil: none)
	openAt    time.Time // the time it was opened at
	trust     []byte    // the trust document in force (nil: none)
}

// New compiles wasm (once; the cache makes later compilations of the same
// bytes free) and checks its ABI version. Instances are created on demand.
func New(ctx context.Context, wasm []byte, opts Options) (*Host, error) {
	n := opts.Instances
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	cfg := wazero.NewRuntimeConfig()
	if opts.MemoryLimit > 0 {
		pages := opts.MemoryLimit / 65536
		if pages < 1 {
			pages = 1
		}
		cfg = cfg.WithMemoryLimitPages(uint32(pages))
	}
	if opts.Cache != nil {
		cfg = cfg.WithCompilationCache(opts.Cache.cc)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("compile module: %w", err)
	}
	h := &Host{rt: rt, cm: cm, idle: make(chan *instance, n), tokens: make(chan struct{}, n)}
	in, err := h.instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	h.idle <- in
	return h, nil
}

// Close closes every instance and the runtime. Calls after Close fail
// with ErrClosed.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	if err := h.rt.Close(ctx); err != nil {
		return fmt.Errorf("close runtime: %w", err)
	}
	return nil
}

// trustDoc is the trust document of ef_set_trust.
type trustDoc struct {
	JWKS            string   `json:"jwks"`
	Project         string   `json:"project"`
	Environment     string   `json:"environment"`
	Audience        string   `json:"audience"`
	Grace           int64    `json:"grace,omitempty"`
	MaxSkew         int64    `json:"maxSkew,omitempty"`
	LastVersion     uint64   `json:"lastVersion,omitempty"`
	Algorithms      []string `json:"algorithms,omitempty"`
	MaxCompressed   int      `json:"maxCompressed,omitempty"`
	MaxDecompressed int      `json:"maxDecompressed,omitempty"`
}

// TrustDocument returns the JSON trust document ef_set_trust takes for t.
func TrustDocument(t Trust) ([]byte, error) {
	for _, d := range []time.Duration{t.Grace, t.MaxSkew} {
		if d%time.Second != 0 {
			return nil, fmt.Errorf("encode trust: %v is not a whole number of seconds", d)
		}
	}
	if !utf8.Valid(t.JWKS) {
		// A JSON string cannot carry it byte for byte; no JWKS parser
		// accepts it either.
		return nil, &Error{Name: "ErrJWKS", Message: "encode trust: JWKS is not valid UTF-8"}
	}
	// The JWKS goes in as text, so the module's parser sees exactly
	// these bytes (and refuses what the native parser refuses).
	doc, err := json.Marshal(trustDoc{JWKS: string(t.JWKS), Project: t.Project, Environment: t.Environment, Audience: t.Audience,
		Grace: int64(t.Grace / time.Second), MaxSkew: int64(t.MaxSkew / time.Second), LastVersion: t.LastVersion,
		Algorithms: t.Algorithms, MaxCompressed: t.MaxCompressed, MaxDecompressed: t.MaxDecompressed})
	if err != nil {
		return nil, fmt.Errorf("encode trust: %w", err)
	}
	return doc, nil
}

// SetTrust sets the trust for later Opens on every instance. The open
// bundle, if any, stays open. A refused trust changes nothing.
func (h *Host) SetTrust(ctx context.Context, t Trust) error {
	doc, err := TrustDocument(t)
	if err != nil {
		return err
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	in, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	if _, err := in.call(ctx, in.setTrust, doc); err != nil {
		h.release(in, err)
		return fmt.Errorf("set trust: %w", err)
	}
	h.mu.Lock()
	h.st.trust = doc
	h.st.gen++
	in.gen = h.st.gen
	h.mu.Unlock()
	h.release(in, nil)
	return nil
}

// Open verifies bundle at time now under the trust in force and, when it
// is accepted, makes it the bundle every instance evaluates; the trust's
// last version rises to its version. A rejected bundle changes nothing; the
// error is an *Error that matches the bundle/envelope sentinel with
// errors.Is.
func (h *Host) Open(ctx context.Context, bundle []byte, now time.Time) (Claims, error) {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	in, err := h.acquire(ctx)
	if err != nil {
		return Claims{}, err
	}
	// A module's memory never shrinks, and TinyGo's collector, which
	// scans the module's data conservatively, kept part of every earlier
	// bundle alive (60 MB after 40 opens of 10 000 flags in one instance).
	// So an instance whose memory grew by half since its first open is not
	// given another bundle: a fresh one takes the trust in force and the
	// bundle, and the old one serves until the new one has it. (The Go
	// module's memory settles after its second open and it keeps its
	// instance: a fresh one costs ~6 ms, twice an Open1k.)
	target := in
	if in.spent() {
		if target, err = h.instantiate(ctx); err != nil {
			h.release(in, nil)
			return Claims{}, err
		}
		h.mu.Lock()
		trust := h.st.trust
		h.mu.Unlock()
		if trust != nil {
			if _, err := target.call(ctx, target.setTrust, trust); err != nil {
				target.close()
				h.release(in, nil)
				return Claims{}, fmt.Errorf("open bundle: replay trust: %w", err)
			}
		}
	}
	out, err := target.open(ctx, bundle, now)
	var c Claims
	if err == nil {
		if jerr := json.Unmarshal(out, &c); jerr != nil {
			err = fmt.Errorf("decode claims: %w", jerr)
		}
	}
	if err != nil {
		if target != in {
			target.close() // a refused bundle changes nothing
			h.release(in, nil)
		} else {
			h.release(in, err)
		}
		return Claims{}, fmt.Errorf("open bundle: %w", err)
	}
	if target != in {
		in.close()
	}
	h.mu.Lock()
	h.st.openTrust = h.st.trust
	h.st.bundle = bytes.Clone(bundle)
	h.st.openAt = now
	h.st.gen++
	h.st.bundleGen++
	target.gen, target.bundleGen = h.st.gen, h.st.bundleGen
	h.mu.Unlock()
	h.release(target, nil)
	return c, nil
}

// Evaluate evaluates flag key for the evaluation context evalCtx (a JSON
// object; nil or empty is {}) at now.
func (h *Host) Evaluate(ctx context.Context, key string, evalCtx []byte, now time.Time) (Result, error) {
	return h.evaluate(ctx, key, 0, evalCtx, now)
}

// EvaluateType is Evaluate for a caller expecting flag type t: a flag of
// another type gives TYPE_MISMATCH.
func (h *Host) EvaluateType(ctx context.Context, key string, t ir.FlagType, evalCtx []byte, now time.Time) (Result, error) {
	if t < ir.TypeBoolean || t > ir.TypeObject {
		return Result{}, fmt.Errorf("evaluate: flag type %d is not boolean, string, number or object", t)
	}
	return h.evaluate(ctx, key, int32(t), evalCtx, now)
}

func (h *Host) evaluate(ctx context.Context, key string, typ int32, evalCtx []byte, now time.Time) (Result, error) {
	in, err := h.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	out, err := in.evaluate(ctx, key, typ, evalCtx, now)
	var r Result
	if err == nil {
		// out is the instance's memory: decode it before the instance
		// goes back to the pool.
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			err = fmt.Errorf("decode result: %w", jerr)
		}
	}
	h.release(in, err)
	if err != nil {
		return Result{}, fmt.Errorf("evaluate %q: %w", key, err)
	}
	return r, nil
}

// EvaluateAll evaluates every flag of the open bundle, in key order.
func (h *Host) EvaluateAll(ctx context.Context, evalCtx []byte, now time.Time) ([]Result, error) {
	in, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	out, err := in.evaluateAll(ctx, evalCtx, now)
	var rs []Result
	if err == nil {
		if jerr := json.Unmarshal(out, &rs); jerr != nil {
			err = fmt.Errorf("decode results: %w", jerr)
		}
	}
	h.release(in, err)
	if err != nil {
		return nil, fmt.Errorf("evaluate all: %w", err)
	}
	return rs, nil
}

// AppendEvaluate appends to dst the result object of Evaluate (typ 0) or
// EvaluateType (typ = an ir.FlagType) as the module wrote it — the bytes
// `edgeflag eval` prints — for hosts that pass JSON on (an OFREP server)
// and need not decode it.
func (h *Host) AppendEvaluate(ctx context.Context, dst []byte, key string, typ ir.FlagType, evalCtx []byte, now time.Time) ([]byte, error) {
	if typ > ir.TypeObject {
		return dst, fmt.Errorf("evaluate: flag type %d is not boolean, string, number or object", typ)
	}
	return h.appendRaw(dst, fmt.Sprintf("evaluate %q", key), ctx, func(in *instance) ([]byte, error) {
		return in.evaluate(ctx, key, int32(typ), evalCtx, now)
	})
}

// AppendEvaluateAll appends to dst the JSON array EvaluateAll decodes.
func (h *Host) AppendEvaluateAll(ctx context.Context, dst []byte, evalCtx []byte, now time.Time) ([]byte, error) {
	return h.appendRaw(dst, "evaluate all", ctx, func(in *instance) ([]byte, error) {
		return in.evaluateAll(ctx, evalCtx, now)
	})
}

func (h *Host) appendRaw(dst []byte, op string, ctx context.Context, f func(*instance) ([]byte, error)) ([]byte, error) {
	in, err := h.acquire(ctx)
	if err != nil {
		return dst, err
	}
	out, err := f(in)
	if err == nil {
		dst = append(dst, out...) // before the instance goes back to the pool
	}
	h.release(in, err)
	if err != nil {
		return dst, fmt.Errorf("%s: %w", op, err)
	}
	return dst, nil
}

// acquire takes an instance from the pool (creating one if the pool has
// room), waiting while all are busy, and brings it up to date.
func (h *Host) acquire(ctx context.Context) (*instance, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	select {
	case h.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for an instance: %w", ctx.Err())
	}
	var in *instance
	select {
	case in = <-h.idle:
	default:
		var err error
		if in, err = h.instantiate(ctx); err != nil {
			<-h.tokens
			return nil, err
		}
	}
	in, err := h.sync(ctx, in)
	if err != nil {
		h.release(in, err)
		return nil, err
	}
	return in, nil
}

// release returns in to the pool, or discards it when err says it trapped.
func (h *Host) release(in *instance, err error) {
	if errors.Is(err, ErrTrap) || in.broken {
		in.close()
	} else {
		h.idle <- in
	}
	<-h.tokens
}

// sync brings an instance that missed changes up to date and returns it:
// the same instance when only the trust changed, a fresh one given the
// trust and bundle when it must load another bundle than the one it has
// (an instance opens one bundle in its life, see Open).
func (h *Host) sync(ctx context.Context, in *instance) (*instance, error) {
	h.mu.Lock()
	st := h.st
	h.mu.Unlock()
	if in.gen == st.gen {
		return in, nil
	}
	if in.bundleGen != st.bundleGen {
		if in.spent() {
			in.close()
			var err error
			if in, err = h.instantiate(ctx); err != nil {
				return nil, err
			}
		}
		if st.bundle != nil {
			if _, err := in.call(ctx, in.setTrust, st.openTrust); err != nil {
				return in, fmt.Errorf("replay trust: %w", err)
			}
			if _, err := in.open(ctx, st.bundle, st.openAt); err != nil {
				return in, fmt.Errorf("replay open: %w", err)
			}
		}
		in.bundleGen = st.bundleGen
		if st.trust != nil && (st.bundle == nil || !bytes.Equal(st.trust, st.openTrust)) {
			if _, err := in.call(ctx, in.setTrust, st.trust); err != nil {
				return in, fmt.Errorf("replay trust: %w", err)
			}
		}
	} else if st.trust != nil {
		// The same bundle: only the trust changed.
		if _, err := in.call(ctx, in.setTrust, st.trust); err != nil {
			return in, fmt.Errorf("replay trust: %w", err)
		}
	}
	in.gen = st.gen
	return in, nil
}

// unixArgs splits now into the (seconds, nanoseconds) pair of the ABI.
func unixArgs(now time.Time) (uint64, uint64) {
	return uint64(now.Unix()), uint64(uint32(now.Nanosecond()))
}

// raw runs f on an up-to-date instance and returns a copy of its result
// bytes (for tests that compare the module's JSON byte for byte).
func (h *Host) raw(ctx context.Context, f func(*instance) ([]byte, error)) ([]byte, error) {
	in, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = errTrapUnlessReturned
	defer func() { h.release(in, err) }() // also when f calls t.Fatal
	out, err = f(in)
	return bytes.Clone(out), err
}
