package store

import (
	"fmt"
	"testing"
)

// go test -run XXX -bench . -benchmem ./store/

var benchEngines = []struct {
	name string
	open func(testing.TB) *DB
}{
	{"sqlite", openTestSQLite},
	{"postgres", openTestPostgres},
}

// seedStreamers makes n streamers (each with a room) and returns their names.
func seedStreamers(b *testing.B, db *DB, n int) []string {
	b.Helper()
	names := make([]string, n)
	for i := range names {
		u, err := db.CreateUser(b.Context(), NewUser{Name: fmt.Sprintf("Streamer%04d", i), Role: RoleStreamer})
		if err != nil {
			b.Fatal(err)
		}
		names[i] = u.Name
	}
	return names
}

// BenchmarkUserByName: the lookup behind every login, among 1000 users.
func BenchmarkUserByName(b *testing.B) {
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			db := e.open(b)
			names := seedStreamers(b, db, 1000)
			b.Run("serial", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := db.UserByName(b.Context(), names[i%len(names)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := db.UserByName(b.Context(), names[i%len(names)]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

// BenchmarkRooms: one lobby page, 50 rooms in one query, among 1000.
func BenchmarkRooms(b *testing.B) {
	const page = 50
	for _, e := range benchEngines {
		b.Run(e.name, func(b *testing.B) {
			db := e.open(b)
			names := seedStreamers(b, db, 1000)
			i := 0
			for b.Loop() {
				off := (i * page) % len(names)
				rooms, err := db.Rooms(b.Context(), names[off:off+page])
				if err != nil {
					b.Fatal(err)
				}
				if len(rooms) != page {
					b.Fatalf("got %d rooms, want %d", len(rooms), page)
				}
				i++
			}
		})
	}
}
