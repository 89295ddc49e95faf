// Package experiment turns stored events into experiment results: the
// experiment definition (as declared in the flags-as-code and carried in
// the server bundle's flag metadata), a streaming analyzer of exposures and
// conversions, the statistics (Wilson, Newcombe, Katz, z and chi-square
// tests), and the JSON and HTML reports of `edgeflag results`.
package experiment

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/bundle/ir"
)

// Definition is one experiment of the flags-as-code (`experiments:`).
type Definition struct {
	Key         string
	Flag        string
	Environment string
	// Control is the baseline variant; Treatments the variants compared
	// with it.
	Control    string
	Treatments []string
	// Conversions are the event names that count as a conversion.
	Conversions []string
	// Start and End bound the experiment: [Start, End).
	Start, End time.Time
	// MinimumSample is the number of exposed units each variant needs
	// before results are final.
	MinimumSample int
}

// DefaultMinimumSample is MinimumSample when the config leaves it out.
const DefaultMinimumSample = 100

// Variants is the control followed by the treatments.
func (d *Definition) Variants() []string {
	return append([]string{d.Control}, d.Treatments...)
}

// Validate checks the definition on its own (lint checks it against the
// flags).
func (d *Definition) Validate() error {
	if d.Key == "" || d.Flag == "" || d.Environment == "" || d.Control == "" {
		return errors.New("key, flag, environment and control are required")
	}
	if len(d.Treatments) == 0 {
		return errors.New("treatments: at least one variant")
	}
	vs := d.Variants()
	for i, v := range vs {
		if slices.Contains(vs[:i], v) {
			return fmt.Errorf("variant %q is listed twice (control and treatments must differ)", v)
		}
	}
	if len(vs) > 64 {
		return errors.New("at most 63 treatments")
	}
	if len(d.Conversions) == 0 {
		return errors.New("conversions: at least one event name")
	}
	for i, c := range d.Conversions {
		if c == "" || strings.ContainsAny(c, ",\n\r\t") || len(c) > 128 {
			return fmt.Errorf("conversion %q: 1 to 128 bytes without commas or control characters", c)
		}
		if slices.Contains(d.Conversions[:i], c) {
			return fmt.Errorf("conversion %q is listed twice", c)
		}
	}
	if d.Start.IsZero() || d.End.IsZero() || !d.Start.Before(d.End) {
		return errors.New("start must be before end")
	}
	if d.MinimumSample < 0 {
		return errors.New("minimumSample: must not be negative")
	}
	return nil
}

// Status is where an experiment stands at now: "scheduled", "running" or
// "ended".
func (d *Definition) Status(now time.Time) string {
	switch {
	case now.Before(d.Start):
		return "scheduled"
	case now.Before(d.End):
		return "running"
	}
	return "ended"
}

// Metadata keys under which the server bundle carries an experiment on
// its flag (OFREP callers see them as flagMetadata).
const (
	MetaKey           = "experiment"
	MetaControl       = "experimentControl"
	MetaTreatments    = "experimentTreatments"
	MetaConversions   = "experimentConversions"
	MetaStart         = "experimentStart"
	MetaEnd           = "experimentEnd"
	MetaMinimumSample = "experimentMinimumSample"
)

// Meta returns the metadata entries of d (lists joined by commas, times
// in RFC 3339), for the compiler to add to the flag.
func (d *Definition) Meta() []ir.Meta {
	str := func(k, v string) ir.Meta { return ir.Meta{Key: k, Value: ir.Const{Kind: ir.ConstString, Str: v}} }
	return []ir.Meta{
		str(MetaKey, d.Key),
		str(MetaControl, d.Control),
		str(MetaConversions, strings.Join(d.Conversions, ",")),
		str(MetaEnd, d.End.UTC().Format(time.RFC3339)),
		{Key: MetaMinimumSample, Value: ir.Const{Kind: ir.ConstNum, Num: float64(d.MinimumSample)}},
		str(MetaStart, d.Start.UTC().Format(time.RFC3339)),
		str(MetaTreatments, strings.Join(d.Treatments, ",")),
	}
}

// AttachTo puts d's metadata on flag f (replacing any experiment metadata
// it had), keeping the metadata sorted by key as bundles require.
func (d *Definition) AttachTo(f *ir.Flag) {
	ours := map[string]bool{}
	for _, m := range d.Meta() {
		ours[m.Key] = true
	}
	kept := f.Metadata[:0:0]
	for _, m := range f.Metadata {
		if !ours[m.Key] {
			kept = append(kept, m)
		}
	}
	f.Metadata = append(kept, d.Meta()...)
	sort.Slice(f.Metadata, func(i, j int) bool { return f.Metadata[i].Key < f.Metadata[j].Key })
}

// FromFlag reads the experiment a server bundle's flag carries in env;
// ok is false when it carries none.
func FromFlag(f *ir.Flag, env string) (d Definition, ok bool, err error) {
	return FromMeta(f.Key, env, f.Metadata)
}

// FromMeta reads the experiment of flag from its metadata (as evaluation
// results carry it); ok is false when there is none.
func FromMeta(flag, env string, meta []ir.Meta) (d Definition, ok bool, err error) {
	get := func(k string) (ir.Const, bool) {
		for _, m := range meta {
			if m.Key == k {
				return m.Value, true
			}
		}
		return ir.Const{}, false
	}
	key, ok := get(MetaKey)
	if !ok {
		return d, false, nil
	}
	str := func(k string) string {
		c, _ := get(k)
		if c.Kind != ir.ConstString {
			if err == nil {
				err = fmt.Errorf("flag %s: metadata %s: want a string", flag, k)
			}
			return ""
		}
		return c.Str
	}
	when := func(k string) time.Time {
		t, perr := time.Parse(time.RFC3339, str(k))
		if perr != nil && err == nil {
			err = fmt.Errorf("flag %s: metadata %s: %w", flag, k, perr)
		}
		return t
	}
	d = Definition{Key: key.Str, Flag: flag, Environment: env, Control: str(MetaControl),
		Treatments: strings.Split(str(MetaTreatments), ","), Conversions: strings.Split(str(MetaConversions), ","),
		Start: when(MetaStart), End: when(MetaEnd)}
	if key.Kind != ir.ConstString {
		err = fmt.Errorf("flag %s: metadata %s: want a string", flag, MetaKey)
	}
	if c, ok := get(MetaMinimumSample); ok && c.Kind == ir.ConstNum && c.Num >= 0 && c.Num == float64(int(c.Num)) {
		d.MinimumSample = int(c.Num)
	} else if err == nil {
		err = fmt.Errorf("flag %s: metadata %s: want a whole number", flag, MetaMinimumSample)
	}
	if err == nil {
		if verr := d.Validate(); verr != nil {
			err = fmt.Errorf("flag %s: experiment %s: %w", flag, d.Key, verr)
		}
	}
	return d, true, err
}

// Find returns the experiment key of bundle b (a server bundle of env).
func Find(b *ir.Bundle, env, key string) (Definition, bool, error) {
	for i := range b.Flags {
		d, ok, err := FromFlag(&b.Flags[i], env)
		if ok && (err != nil || d.Key == key) {
			if err != nil && d.Key != key {
				continue // another experiment's broken metadata is not ours to report
			}
			return d, true, err
		}
	}
	return Definition{}, false, nil
}

// Shares are the expected shares of the experiment's variants for the
// sample-ratio test, from the flag's splits: the weights of its variants
// in a split that serves all of them, normalized over those variants.
// ok is false when no split serves them all, or several such splits
// weigh them differently (the expected ratio is then unknown).
func Shares(b *ir.Bundle, d *Definition) (shares []float64, ok bool) {
	var f *ir.Flag
	for i := range b.Flags {
		if b.Flags[i].Key == d.Flag {
			f = &b.Flags[i]
		}
	}
	if f == nil {
		return nil, false
	}
	serves := []ir.Serve{f.Default}
	for _, r := range f.Rules {
		serves = append(serves, r.Serve)
	}
	for _, s := range serves {
		if len(s.Split) == 0 {
			continue
		}
		w := map[string]float64{}
		for _, arm := range s.Split {
			if int(arm.Variant) < len(f.Variants) {
				w[f.Variants[arm.Variant].Name] += float64(arm.Weight)
			}
		}
		cand := make([]float64, 0, len(d.Treatments)+1)
		sum := 0.0
		for _, v := range d.Variants() {
			if w[v] <= 0 {
				cand = nil
				break
			}
			cand = append(cand, w[v])
			sum += w[v]
		}
		if cand == nil {
			continue
		}
		for i := range cand {
			cand[i] /= sum
		}
		if shares != nil {
			for i := range cand {
				if diff := cand[i] - shares[i]; diff > 1e-12 || diff < -1e-12 {
					return nil, false
				}
			}
		}
		shares = cand
	}
	return shares, shares != nil
}

// formatShare renders a share for messages.
func formatShare(s float64) string { return strconv.FormatFloat(100*s, 'f', -1, 64) + "%" }
