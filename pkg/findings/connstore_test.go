package findings

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// filledConnection returns a Connection with every field, exported or
// not, set to a value of its own that is not the zero value, so that a
// field the store forgets to keep shows.
func filledConnection(t *testing.T, seed int) Connection {
	t.Helper()
	var c Connection
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem() // unexported fields too
		n := seed*100 + i + 1
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(int64(n))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString(strings.Repeat("é", n%7) + v.Type().Field(i).Name)
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			p.Elem().SetInt(int64(-n))
			f.Set(p)
		case reflect.Struct:
			if f.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("Connection.%s: a %s the test does not know how to fill", v.Type().Field(i).Name, f.Type())
			}
			f.Set(reflect.ValueOf(time.Unix(1_790_000_000+int64(n), int64(n*1000+7)).UTC()))
		default:
			t.Fatalf("Connection.%s: a %s the test does not know how to fill", v.Type().Field(i).Name, f.Type())
		}
	}
	return c
}

// TestTheConnectionStoreKeepsEveryField: a summary comes back from the
// store as it went in, every field of it; one replaced comes back as
// replaced; and they come out in stream order.
func TestTheConnectionStoreKeepsEveryField(t *testing.T) {
	var cs connStore
	var want []Connection
	for seed := range 3 {
		c := filledConnection(t, 3-seed) // streams 301, 201, 101
		want = append(want, c)
		cs.add(&c)
	}
	zero := Connection{Stream: 7}
	cs.add(&zero)
	for i, c := range want {
		if got := cs.get(i); !reflect.DeepEqual(got, c) {
			t.Errorf("summary %d:\n got %+v\nwant %+v", i, got, c)
		}
	}
	if got := cs.get(3); !reflect.DeepEqual(got, Connection{Stream: 7, First: time.Time{}.UTC(), Last: time.Time{}.UTC()}) {
		t.Errorf("a summary with no times: got %+v", got)
	}
	changed := want[1]
	changed.Diagnosis = "The same session as stream 1, seen through NAT: see stream 1."
	same := 1
	changed.SameSessionAs = &same
	cs.set(1, &changed)
	if got := cs.get(1); !reflect.DeepEqual(got, changed) {
		t.Errorf("replaced summary:\n got %+v\nwant %+v", got, changed)
	}
	var streams []int
	for _, c := range cs.takeSorted().All() {
		streams = append(streams, c.Stream)
	}
	if !reflect.DeepEqual(streams, []int{7, 101, 201, 301}) || cs.len() != 0 {
		t.Errorf("taken in stream order %v, want [7 101 201 301]; %d left in the store", streams, cs.len())
	}
}
