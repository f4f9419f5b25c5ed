// Package wording holds the small helpers reports share to say things in
// English.
package wording

import "strconv"

// Plural writes n with the singular or the plural form of a noun:
// Plural(1, "byte", "bytes") is "1 byte", Plural(3, "byte", "bytes") "3 bytes".
func Plural[N ~int | ~int32 | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}
