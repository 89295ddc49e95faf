package ir

// Limits bound what Decode accepts, so that hostile input cannot make it
// allocate or work without bound. A zero field means the DefaultLimits
// value. Counts marked "total" are summed over the whole bundle.
type Limits struct {
	MaxBytes      int // length of the input
	MaxStrings    int // entries in the string table
	MaxStringLen  int // bytes of one string table entry or KeySalt
	MaxAttributes int // Bundle.Attributes
	MaxConsts     int // Bundle.Consts
	MaxListLen    int // total elements of list constants
	MaxNodes      int // Bundle.Nodes
	MaxArgs       int // Bundle.Args
	MaxSegments   int // Bundle.Segments
	MaxKeys       int // total Keys plus KeyDigests over all segments
	MaxFlags      int // Bundle.Flags
	MaxVariants   int // total variants over all flags
	MaxRules      int // total rules over all flags
	MaxWeights    int // total split arms over all serves
	MaxMeta       int // total metadata entries over all flags
}

// DefaultLimits returns generous but finite limits: far above any real
// bundle (10 000 realistic flags encode in about 2 MB), low enough
// that decoding hostile input stays within a few hundred MiB of memory.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:      64 << 20,
		MaxStrings:    4 << 20,
		MaxStringLen:  1 << 20,
		MaxAttributes: 100_000,
		MaxConsts:     1 << 20,
		MaxListLen:    1 << 20,
		MaxNodes:      1 << 20,
		MaxArgs:       1 << 20,
		MaxSegments:   100_000,
		MaxKeys:       4 << 20,
		MaxFlags:      100_000,
		MaxVariants:   2 << 20,
		MaxRules:      1 << 20,
		MaxWeights:    2 << 20,
		MaxMeta:       1 << 20,
	}
}

func (l Limits) codecWithDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxBytes, d.MaxBytes)
	set(&l.MaxStrings, d.MaxStrings)
	set(&l.MaxStringLen, d.MaxStringLen)
	set(&l.MaxAttributes, d.MaxAttributes)
	set(&l.MaxConsts, d.MaxConsts)
	set(&l.MaxListLen, d.MaxListLen)
	set(&l.MaxNodes, d.MaxNodes)
	set(&l.MaxArgs, d.MaxArgs)
	set(&l.MaxSegments, d.MaxSegments)
	set(&l.MaxKeys, d.MaxKeys)
	set(&l.MaxFlags, d.MaxFlags)
	set(&l.MaxVariants, d.MaxVariants)
	set(&l.MaxRules, d.MaxRules)
	set(&l.MaxWeights, d.MaxWeights)
	set(&l.MaxMeta, d.MaxMeta)
	return l
}
