package cli

import "github.com/edgeflag/edgeflag/bundle/ir"

// The CLI renders IR (inspect, diff, audit text) only through bundle/ir's
// renderer; these are its names for it.

// FormatCondition renders the condition rooted at node in the expression
// language (ir.Source notation), for diffs and inspect.
func FormatCondition(b *ir.Bundle, node int32) string { return b.FormatExpr(node, ir.Source) }

// FormatServe renders what a rule or default serves: "on", or
// "split on:25 off:75 by accountId" (ir.Bundle.FormatServe).
func FormatServe(b *ir.Bundle, f *ir.Flag, s ir.Serve) string { return b.FormatServe(f, s) }

func variantName(f *ir.Flag, i int32) string { return f.VariantName(i) }

func formatConst(c ir.Const) string { return c.String() }
