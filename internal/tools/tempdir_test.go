package tools

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRemoveStale(t *testing.T) {
	// A base with pattern characters, and a sibling they would match.
	parent := t.TempDir()
	base := filepath.Join(parent, "TG[x]*")
	sibling := filepath.Join(parent, "TGother", "diffah-1-1")
	dead := filepath.Join(base, "diffah-1-1")
	noLock := filepath.Join(base, "diffah-2-2")
	other := filepath.Join(base, "other-3-3")
	notRun := filepath.Join(base, "diffah-notes-keep")
	oldPrep := filepath.Join(base, prepPrefix+"4")
	newPrep := filepath.Join(base, prepPrefix+"5")
	oldNotPrep := filepath.Join(base, prepPrefix+"mine")
	for _, d := range []string{dead, noLock, other, notRun, oldPrep,
		newPrep, oldNotPrep, sibling} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dead, other, notRun, sibling} {
		err := os.WriteFile(filepath.Join(d, lockName), nil, 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * prepGrace)
	for _, d := range []string{oldPrep, oldNotPrep} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	live, lock, err := newRunDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	removeStale(base)

	for d, want := range map[string]bool{dead: false, noLock: true,
		other: true, live: true, oldPrep: false, newPrep: true,
		notRun: true, oldNotPrep: true, sibling: true} {
		_, err := os.Stat(d)
		if got := err == nil; got != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(d), got, want)
		}
	}
}

// TestRunDirsRace starts and cleans runs at the same time, as the stages
// of one pipe do: no run may lose its folder to another's removeStale,
// nor fail to take its own lock.
func TestRunDirsRace(t *testing.T) {
	base := t.TempDir()
	const runs, rounds = 8, 150
	var wg sync.WaitGroup
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				removeStale(base)
				dir, lock, err := newRunDir(base)
				if err != nil {
					t.Errorf("new run folder: %v", err)
					return
				}
				spool := filepath.Join(dir, "spool")
				err = os.WriteFile(spool, []byte("x"), 0o644)
				removeStale(base)
				if err == nil {
					_, err = os.Stat(spool)
				}
				if err != nil {
					t.Errorf("live run folder %s: %v", dir, err)
				}
				os.RemoveAll(dir)
				lock.Close()
			}
		}()
	}
	wg.Wait()
}
