package ir

// What the encoder and decoder share: the magic, the record field
// presence bits and the error type that adds context to a sentinel.
// docs/ir-encoding.md is the byte-level specification; encode.go and
// decode.go are its reference implementation.

// codecMagic opens every encoded bundle.
const codecMagic = "EFIR"

// Record field presence bits (see docs/ir-encoding.md): field n of a
// record (numbered from 1) is bit n-1 of the record's leading mask, and
// codecXxxAll has every field the record defines.
const (
	codecBundleProject     = 1 << 0
	codecBundleEnvironment = 1 << 1
	codecBundleAudience    = 1 << 2
	codecBundleAttributes  = 1 << 3
	codecBundleConsts      = 1 << 4
	codecBundleNodes       = 1 << 5
	codecBundleArgs        = 1 << 6
	codecBundleSegments    = 1 << 7
	codecBundleFlags       = 1 << 8
	codecBundleAll         = 1<<9 - 1

	codecSegName       = 1 << 0
	codecSegWhen       = 1 << 1
	codecSegKeyAttr    = 1 << 2
	codecSegKeys       = 1 << 3
	codecSegKeySalt    = 1 << 4
	codecSegKeyDigests = 1 << 5
	codecSegAll        = 1<<6 - 1

	codecFlagKey            = 1 << 0
	codecFlagType           = 1 << 1
	codecFlagVariants       = 1 << 2
	codecFlagEnabled        = 1 << 3
	codecFlagDefaultVariant = 1 << 4
	codecFlagOffVariant     = 1 << 5
	codecFlagRules          = 1 << 6
	codecFlagDefault        = 1 << 7
	codecFlagSalt           = 1 << 8
	codecFlagMetadata       = 1 << 9
	codecFlagAll            = 1<<10 - 1

	codecVariantName  = 1 << 0
	codecVariantValue = 1 << 1
	codecVariantAll   = 1<<2 - 1

	codecRuleID    = 1 << 0
	codecRuleWhen  = 1 << 1
	codecRuleServe = 1 << 2
	codecRuleAll   = 1<<3 - 1

	codecServeVariant  = 1 << 0
	codecServeSplit    = 1 << 1
	codecServeBucketBy = 1 << 2
	codecServeAll      = 1<<3 - 1

	codecMetaKey   = 1 << 0
	codecMetaValue = 1 << 1
	codecMetaAll   = 1<<2 - 1
)

// codecIf returns bit when cond holds, else 0.
func codecIf(cond bool, bit uint64) uint64 {
	if cond {
		return bit
	}
	return 0
}

// codecError adds context to a wrapped sentinel.
type codecError struct {
	ctx string
	err error
}

func (e *codecError) Error() string { return e.ctx + ": " + e.err.Error() }
func (e *codecError) Unwrap() error { return e.err }

func codecWrap(ctx string, err error) error {
	if err == nil {
		return nil
	}
	return &codecError{ctx: ctx, err: err}
}
