package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Native is an Evaluator running the Go engine in-process: the stored bundle
// bytes go through ir.Decode (default limits) and eval.Load once per suite.
// The zero value is ready to use and safe for concurrent use.
type Native struct {
	mu      sync.Mutex
	engines map[*Suite]*eval.Engine
}

// Evaluate implements Evaluator.
func (n *Native) Evaluate(s *Suite, c *Case) ([]Result, error) {
	e, err := n.engine(s)
	if err != nil {
		return nil, err
	}
	now, err := c.Time(s)
	if err != nil {
		return nil, err
	}
	ctx := eval.Context(c.Context)
	if c.Kind == KindAll {
		rs := e.EvaluateAll(ctx, now, nil)
		out := make([]Result, len(rs))
		for i := range rs {
			if out[i], err = FromEval(rs[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var r eval.Result
	if c.Type != "" {
		t, err := FlagType(c.Type)
		if err != nil {
			return nil, err
		}
		r = e.EvaluateType(c.Flag, t, ctx, now)
	} else {
		r = e.Evaluate(c.Flag, ctx, now)
	}
	g, err := FromEval(r)
	if err != nil {
		return nil, err
	}
	return []Result{g}, nil
}

func (n *Native) engine(s *Suite) (*eval.Engine, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.engines[s]; ok {
		return e, nil
	}
	if len(s.Bundle) == 0 {
		return nil, errors.New("load bundle: the suite has no bundle (run go test ./bundle/conformance -update)")
	}
	b, err := ir.Decode(s.Bundle, ir.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	e, err := eval.Load(b, 1)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	if n.engines == nil {
		n.engines = map[*Suite]*eval.Engine{}
	}
	n.engines[s] = e
	return e, nil
}

// FromEval converts an engine result to the corpus form (Value as JSON).
func FromEval(r eval.Result) (Result, error) {
	v, err := json.Marshal(r.Value)
	if err != nil {
		return Result{}, fmt.Errorf("encode value of %q: %w", r.Key, err)
	}
	return Result{
		Key:       r.Key,
		Value:     v,
		Variant:   r.Variant,
		Reason:    string(r.Reason),
		ErrorCode: string(r.ErrorCode),
		RuleID:    r.RuleID,
	}, nil
}
