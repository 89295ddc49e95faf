package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// instance is one module instance and the host's view of it.
type instance struct {
	mod    api.Module
	mem    api.Memory
	stderr *tail
	gen    uint64 // the host state generation it holds
	// bundleGen is the host's bundle generation of the bundle it holds (0:
	// none); opened is whether ef_open ran on it at all, and openedSize
	// its memory after the first open.
	bundleGen  uint64
	opened     bool
	openedSize uint32
	closed     bool
	live       *atomic.Int64 // the host's count of live instances
	broken     bool          // a call failed in a way that leaves it unusable

	alloc, free, result, setTrust, openFn, evalFn, evalAllFn api.Function

	// scratch blocks reused for the flag key and the context
	keyBuf, ctxBuf block
	stack          [7]uint64
}

// block is a block of guest memory from ef_alloc.
type block struct {
	ptr uint32
	cap int
}

func (h *Host) instantiate(ctx context.Context) (*instance, error) {
	errs := &tail{max: 4096}
	mod, err := h.rt.InstantiateModule(ctx, h.cm, wazero.NewModuleConfig().
		WithName("").WithStartFunctions("_initialize").WithStderr(errs))
	if err != nil {
		return nil, fmt.Errorf("instantiate module: %w", err)
	}
	h.created.Add(1)
	h.live.Add(1)
	in := &instance{mod: mod, mem: mod.Memory(), stderr: errs, live: &h.live}
	for _, f := range []struct {
		fn   *api.Function
		name string
	}{
		{&in.alloc, "ef_alloc"}, {&in.free, "ef_free"}, {&in.result, "ef_result"},
		{&in.setTrust, "ef_set_trust"}, {&in.openFn, "ef_open"},
		{&in.evalFn, "ef_evaluate"}, {&in.evalAllFn, "ef_evaluate_all"},
	} {
		if *f.fn = mod.ExportedFunction(f.name); *f.fn == nil {
			mod.Close(ctx)
			return nil, fmt.Errorf("instantiate module: no export %s (not an edgeflag module?)", f.name)
		}
	}
	if in.mem == nil {
		mod.Close(ctx)
		return nil, errors.New("instantiate module: no memory export")
	}
	v := mod.ExportedFunction("ef_abi_version")
	if v == nil {
		mod.Close(ctx)
		return nil, errors.New("instantiate module: no export ef_abi_version")
	}
	res, err := v.Call(ctx)
	if err != nil || len(res) != 1 || int32(res[0]) != ABIVersion {
		mod.Close(ctx)
		return nil, fmt.Errorf("instantiate module: ABI version %v (%v), want %d", res, err, ABIVersion)
	}
	return in, nil
}

// spent reports whether the instance should not be given another bundle:
// its memory grew by more than half since its first open (see Host.Open).
// The TinyGo module's memory doubles as old bundles pile up; the Go
// module's grows once, by about a third, and then stays.
func (in *instance) spent() bool { return in.opened && in.mem.Size() > in.openedSize+in.openedSize/2 }

func (in *instance) close() {
	in.broken = true
	if !in.closed {
		in.closed = true
		in.live.Add(-1)
	}
	in.mod.Close(context.Background())
}

// trapped wraps a failed call of the module.
func (in *instance) trapped(fn string, err error) error {
	in.broken = true
	msg := strings.TrimSpace(in.stderr.String())
	if msg != "" {
		return fmt.Errorf("%w: %s: %v (module stderr: %s)", ErrTrap, fn, err, msg)
	}
	return fmt.Errorf("%w: %s: %v", ErrTrap, fn, err)
}

// ensure makes b hold at least n bytes.
func (in *instance) ensure(ctx context.Context, b *block, n int) error {
	if n <= b.cap {
		return nil
	}
	c := 256
	for c < n {
		c *= 2
	}
	if b.ptr != 0 {
		if _, err := in.free.Call(ctx, uint64(b.ptr)); err != nil {
			return in.trapped("ef_free", err)
		}
		b.ptr, b.cap = 0, 0
	}
	p, err := in.allocate(ctx, c)
	if err != nil {
		return err
	}
	b.ptr, b.cap = p, c
	return nil
}

// allocate calls ef_alloc.
func (in *instance) allocate(ctx context.Context, n int) (uint32, error) {
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("allocate %d bytes: over the ABI's 2 GiB", n)
	}
	res, err := in.alloc.Call(ctx, uint64(n))
	if err != nil {
		return 0, in.trapped("ef_alloc", err)
	}
	p := uint32(res[0])
	if p == 0 {
		return 0, fmt.Errorf("allocate %d bytes: refused by the module", n)
	}
	return p, nil
}

// put writes data into b (growing it) and returns the pointer/length
// arguments for it; empty data is (0, 0).
func (in *instance) put(ctx context.Context, b *block, data []byte) (uint64, uint64, error) {
	if len(data) == 0 {
		return 0, 0, nil
	}
	if err := in.ensure(ctx, b, len(data)); err != nil {
		return 0, 0, err
	}
	if !in.mem.Write(b.ptr, data) {
		return 0, 0, in.trapped("write memory", errors.New("block outside memory"))
	}
	return uint64(b.ptr), uint64(len(data)), nil
}

// finish reads the result of a call that returned n: the success bytes
// (a view of guest memory, valid until the next call) or an *Error.
func (in *instance) finish(ctx context.Context, fn string, n int32) ([]byte, error) {
	size := n
	if n < 0 {
		size = -n
	}
	var p uint32
	if size > 0 {
		res, err := in.result.Call(ctx)
		if err != nil {
			return nil, in.trapped("ef_result", err)
		}
		p = uint32(res[0])
	}
	out, ok := in.mem.Read(p, uint32(size))
	if !ok {
		return nil, in.trapped(fn, fmt.Errorf("result %d+%d outside memory", p, size))
	}
	if n >= 0 {
		return out, nil
	}
	var e Error
	if err := json.Unmarshal(out, &struct {
		Name    *string `json:"error"`
		Message *string `json:"message"`
	}{&e.Name, &e.Message}); err != nil || e.Name == "" {
		in.broken = true
		return nil, fmt.Errorf("%s: unreadable error result %q", fn, out)
	}
	return nil, &e
}

// call runs a (pointer, length) export such as ef_set_trust on data, in a
// block allocated for the call.
func (in *instance) call(ctx context.Context, fn api.Function, data []byte) ([]byte, error) {
	var tmp block
	p, n, err := in.put(ctx, &tmp, data)
	if err != nil {
		return nil, err
	}
	defer in.release(ctx, tmp)
	res, err := fn.Call(ctx, p, n)
	if err != nil {
		return nil, in.trapped(fn.Definition().Name(), err)
	}
	return in.finish(ctx, fn.Definition().Name(), int32(res[0]))
}

// release frees a per-call block (a trapped instance is discarded anyway).
func (in *instance) release(ctx context.Context, b block) {
	if b.ptr != 0 && !in.broken {
		if _, err := in.free.Call(ctx, uint64(b.ptr)); err != nil {
			in.broken = true
		}
	}
}

// open calls ef_open.
func (in *instance) open(ctx context.Context, bundle []byte, now time.Time) ([]byte, error) {
	var tmp block
	p, n, err := in.put(ctx, &tmp, bundle)
	if err != nil {
		return nil, err
	}
	defer in.release(ctx, tmp)
	sec, nsec := unixArgs(now)
	in.opened = true
	res, err := in.openFn.Call(ctx, p, n, sec, nsec)
	if err != nil {
		return nil, in.trapped("ef_open", err)
	}
	if in.openedSize == 0 {
		in.openedSize = in.mem.Size()
	}
	return in.finish(ctx, "ef_open", int32(res[0]))
}

// evaluate calls ef_evaluate.
func (in *instance) evaluate(ctx context.Context, key string, typ int32, evalCtx []byte, now time.Time) ([]byte, error) {
	kp, kn, err := in.put(ctx, &in.keyBuf, []byte(key))
	if err != nil {
		return nil, err
	}
	cp, cn, err := in.put(ctx, &in.ctxBuf, evalCtx)
	if err != nil {
		return nil, err
	}
	sec, nsec := unixArgs(now)
	s := in.stack[:7]
	s[0], s[1], s[2], s[3], s[4], s[5], s[6] = kp, kn, cp, cn, uint64(uint32(typ)), sec, nsec
	if err := in.evalFn.CallWithStack(ctx, s); err != nil {
		return nil, in.trapped("ef_evaluate", err)
	}
	return in.finish(ctx, "ef_evaluate", int32(s[0]))
}

// evaluateAll calls ef_evaluate_all.
func (in *instance) evaluateAll(ctx context.Context, evalCtx []byte, now time.Time) ([]byte, error) {
	cp, cn, err := in.put(ctx, &in.ctxBuf, evalCtx)
	if err != nil {
		return nil, err
	}
	sec, nsec := unixArgs(now)
	s := in.stack[:4]
	s[0], s[1], s[2], s[3] = cp, cn, sec, nsec
	if err := in.evalAllFn.CallWithStack(ctx, s); err != nil {
		return nil, in.trapped("ef_evaluate_all", err)
	}
	return in.finish(ctx, "ef_evaluate_all", int32(s[0]))
}

// tail keeps the first max bytes written to it (the module's stderr: a
// Go panic message before a trap).
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.buf); room > 0 {
		t.buf = append(t.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
