package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/eval"
	"github.com/edgeflag/edgeflag/bundle/ir"
	"github.com/edgeflag/edgeflag/publisher/compile"
	"github.com/edgeflag/edgeflag/publisher/config"
)

// loadDoc loads and lints dir; lint or load errors print every diagnostic
// and fail with exit 1. Warnings are printed too.
func (e *Env) loadDoc(dir string, now time.Time, strict bool) (*config.Document, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, invalidf("%s is not a directory", dir)
	}
	doc, diags := compile.LoadAndLint(dir, compile.LintOptions{Strict: strict, Now: now})
	if diags.HasErrors() {
		printDiags(e, diags)
		return nil, invalidf("%s has %d error(s); fix them first (edgeflag validate %s)", dir, len(diags.Errors()), dir)
	}
	printDiags(e, diags)
	return doc, nil
}

// compileEnv builds one environment's bundle for one audience, exactly as
// a published bundle would carry it: the built IR is encoded and decoded
// again, so callers see what the codec preserves.
func (e *Env) compileEnv(doc *config.Document, env string, aud ir.Audience) (*ir.Bundle, error) {
	b, _, err := e.compilePayload(doc, env, aud)
	return b, err
}

// compilePayload is compileEnv that also returns the IR encoding, checked
// as a verifier with default limits will open it (compile.Payload): a
// bundle it returns seals into one that verifiers accept.
func (e *Env) compilePayload(doc *config.Document, env string, aud ir.Audience) (*ir.Bundle, []byte, error) {
	if doc.Environment(env) == nil {
		names := make([]string, len(doc.Environments))
		for i, x := range doc.Environments {
			names[i] = x.Name
		}
		return nil, nil, invalidf("unknown environment %q%s (declared: %s)", env, config.DidYouMean(env, names), strings.Join(names, ", "))
	}
	b, diags := compile.Build(doc, env, aud)
	if diags.HasErrors() {
		printDiags(e, diags)
		return nil, nil, invalidf("build %s %s bundle: %d error(s)", env, aud, len(diags.Errors()))
	}
	enc, diags := compile.Payload(doc, b)
	if diags.HasErrors() {
		printDiags(e, diags)
		return nil, nil, invalidf("build %s %s bundle: %d error(s)", env, aud, len(diags.Errors()))
	}
	out, err := ir.Decode(enc, ir.DefaultLimits())
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s bundle: %w", aud, err)
	}
	return out, enc, nil
}

func parseAudience(s string) (ir.Audience, error) {
	if a, ok := ir.ParseAudience(s); ok {
		return a, nil
	}
	return 0, invalidf("--audience must be server or client, not %q", s)
}

// ResultJSON is the JSON form of one evaluation result that eval prints.
type ResultJSON struct {
	Key       string `json:"key"`
	Value     any    `json:"value"`
	Variant   string `json:"variant"`
	Reason    string `json:"reason"`
	ErrorCode string `json:"errorCode,omitempty"`
	RuleID    string `json:"ruleId,omitempty"`
	Version   uint64 `json:"version"`
}

func toJSON(r eval.Result) ResultJSON {
	return ResultJSON{Key: r.Key, Value: r.Value, Variant: r.Variant, Reason: string(r.Reason),
		ErrorCode: string(r.ErrorCode), RuleID: r.RuleID, Version: r.Version}
}

// parseContext decodes one evaluation context: a JSON object, numbers as
// float64.
func parseContext(data []byte) (eval.Context, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("context is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("context has data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("context must be a JSON object, not %s", jsonKind(v))
	}
	return eval.Context(m), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "a value of another type"
}

func (e *Env) eval(ctx context.Context, name string, args []string) error {
	fs := e.newFlags(name)
	envName := fs.String("env", "", "environment to evaluate (`ENV`, DIR mode)")
	audience := fs.String("audience", "server", "bundle audience in DIR mode: server or client")
	jwksPath := fs.String("jwks", "", "trusted public keys (`FILE`, BUNDLE mode)")
	flagKey := fs.String("flag", "", "flag `KEY` to evaluate")
	all := fs.Bool("all", false, "evaluate every flag (one JSON line per flag, in key order)")
	ctxJSON := fs.String("context", "", "evaluation context as a JSON object")
	ctxFile := fs.String("contexts", "", "NDJSON `FILE` of contexts, one object a line (- = stdin); one result line each")
	nowFlag := fs.String("now", "", "evaluation (and verification) `time`, RFC 3339 (default: now)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return e.usageErr(fs, "expected one DIR or BUNDLE argument, got %d", len(pos))
	}
	if (*flagKey == "") == !*all {
		return e.usageErr(fs, "give exactly one of --flag KEY or --all")
	}
	if *ctxJSON != "" && *ctxFile != "" {
		return e.usageErr(fs, "give --context or --contexts, not both")
	}
	now, err := e.parseNow(*nowFlag)
	if err != nil {
		return err
	}
	var engine *eval.Engine
	fi, err := os.Stat(pos[0])
	if err != nil {
		return invalidf("%s: no such directory or bundle file", pos[0])
	}
	if fi.IsDir() {
		if *envName == "" {
			return e.usageErr(fs, "--env is required with a DIR")
		}
		if *jwksPath != "" {
			return e.usageErr(fs, "--jwks applies to BUNDLE mode only")
		}
		aud, err := parseAudience(*audience)
		if err != nil {
			return err
		}
		doc, err := e.loadDoc(pos[0], now, false)
		if err != nil {
			return err
		}
		b, err := e.compileEnv(doc, *envName, aud)
		if err != nil {
			return err
		}
		engine, err = eval.Load(b, 0)
		if err != nil {
			return fmt.Errorf("load engine: %w", err)
		}
	} else {
		if *jwksPath == "" {
			return e.usageErr(fs, "--jwks FILE is required to evaluate a bundle")
		}
		if *envName != "" {
			return e.usageErr(fs, "--env applies to DIR mode only (a bundle names its environment)")
		}
		jwks, err := loadJWKS(*jwksPath)
		if err != nil {
			return err
		}
		data, err := readBundleFile(pos[0])
		if err != nil {
			return err
		}
		opened, err := openWithOwnClaims(data, jwks, now)
		if err != nil {
			return err
		}
		engine = opened.Engine
	}

	out := json.NewEncoder(e.Stdout)
	out.SetEscapeHTML(false)
	var buf []eval.Result
	emit := func(c eval.Context) error {
		if *all {
			buf = engine.EvaluateAll(c, now, buf[:0])
			for _, r := range buf {
				if err := out.Encode(toJSON(r)); err != nil {
					return fmt.Errorf("write result: %w", err)
				}
			}
			return nil
		}
		if err := out.Encode(toJSON(engine.Evaluate(*flagKey, c, now))); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	if *ctxFile == "" {
		c := eval.Context{}
		if *ctxJSON != "" {
			if c, err = parseContext([]byte(*ctxJSON)); err != nil {
				return invalidf("--context: %v", err)
			}
		}
		return emit(c)
	}
	var in io.Reader = e.Stdin
	if *ctxFile != "-" {
		f, err := os.Open(*ctxFile)
		if err != nil {
			return invalidf("open --contexts: %v", err)
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		c, err := parseContext(text)
		if err != nil {
			return invalidf("%s:%d: %v", *ctxFile, line, err)
		}
		if err := emit(c); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s after line %d: %w", *ctxFile, line, err)
	}
	return nil
}
