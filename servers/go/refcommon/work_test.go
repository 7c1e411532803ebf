package refcommon

import "testing"

func TestIntParam(t *testing.T) {
	cases := []struct {
		query string
		want  uint64
		err   string
	}{
		{"", 30, ""}, {"x=1", 30, ""}, {"n=40", 40, ""}, {"n=0&n=7", 0, ""}, {"n=%34", 4, ""},
		{"n=-0", 0, ""}, {"n=007", 7, ""},
		{"n=", 0, "n must be an integer"}, {"n=abc", 0, "n must be an integer"},
		{"n=1.5", 0, "n must be an integer"}, {"n=+5", 0, "n must be an integer"},
		{"n=%20", 0, "n must be an integer"}, {"n=1e3", 0, "n must be an integer"},
		{"n=-", 0, "n must be an integer"}, {"n=5_0", 0, "n must be an integer"},
		{"n=%zz", 0, "n must be an integer"}, {"n;x=1", 30, ""},
		{"n=-1", 0, "n must not be negative"}, {"n=-99999999999999999999999", 0, "n must not be negative"},
		{"n=41", 0, "n must be at most 40"}, {"n=99999999999999999999999", 0, "n must be at most 40"},
	}
	for _, c := range cases {
		got, err := IntParam(c.query, "n", 30, 40)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != c.want || gotErr != c.err {
			t.Errorf("intParam(%q) = %d, %q; want %d, %q", c.query, got, gotErr, c.want, c.err)
		}
	}
}

func TestCountPrimes(t *testing.T) {
	for n, want := range map[uint64]uint64{0: 0, 1: 0, 2: 1, 10: 4, 1000: 168, 50_000: 5133, 100_000: 9592} {
		if got := CountPrimes(n); got != want {
			t.Errorf("countPrimes(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestFib(t *testing.T) {
	for n, want := range map[uint64]uint64{0: 0, 1: 1, 2: 1, 10: 55, 30: 832040} {
		if got := Fib(n); got != want {
			t.Errorf("fib(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestHashRounds(t *testing.T) {
	for rounds, want := range map[uint64]string{
		0:   "706f646d65746572",
		1:   "872ab7218062ce81f4c2e32ab0001feb6ca5bacdfa4890efbdbe32b63c62219c",
		100: "48b7ea6cf032b27fa89f25799ef806d355600794dfff36c80f3c102ac5d66fb4",
	} {
		if got := HashRounds(rounds); got != want {
			t.Errorf("hashRounds(%d) = %s, want %s", rounds, got, want)
		}
	}
}

func TestPayload(t *testing.T) {
	if len(Payload(0)) != 0 {
		t.Error("payload(0) not empty")
	}
	items := Payload(3)
	want := Item{ID: 2, Name: "item-2", Value: 5831, Tags: [2]string{"tag-2", "group-2"}}
	if len(items) != 3 || items[2] != want {
		t.Errorf("payload(3) = %+v", items)
	}
}

func TestSnowflakeUniqueAndIncreasing(t *testing.T) {
	ids := &Snowflake{MachineID: 5}
	now := uint64(SnowflakeEpochMs + 1000)
	prev := ids.Next(now)
	if prev != 1000<<22|5<<12 {
		t.Fatalf("first id = %d", prev)
	}
	for range 10_000 { // same millisecond: sequence, then borrowing
		id := ids.Next(now)
		if id <= prev {
			t.Fatalf("id %d after %d", id, prev)
		}
		prev = id
	}
	if ids.Next(now-500) <= prev {
		t.Error("clock going back broke ordering")
	}
}
