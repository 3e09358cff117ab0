package apply

import (
	"math/big"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// compareVersions compares two decimal versions numerically.
func compareVersions(a, b string) int {
	if x, ok := ddbjson.Int64(a); ok {
		if y, ok := ddbjson.Int64(b); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	x, okx := new(big.Float).SetPrec(200).SetString(a)
	y, oky := new(big.Float).SetPrec(200).SetString(b)
	if !okx || !oky {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	return x.Cmp(y)
}
