// Command benchreport turns the raw `go test -bench` output that
// bench/run.sh keeps in docs/bench/ into docs/benchmarks.md: tables of the
// medians of one run, their ratios, the targets and whether they were met,
// and the command that produced each number.
//
//	go run ./cmd/benchreport -dir ../docs/bench -out ../docs/benchmarks.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := flag.String("dir", "docs/bench", "directory of the raw outputs, commands.tsv and meta.txt")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write")
	flag.Parse()
	rep, err := load(*dir)
	if err != nil {
		log.Fatal(err)
	}
	var b strings.Builder
	rep.write(&b)
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

// report is one run: its raw files, parsed, with their commands.
type report struct {
	dir      string
	meta     [][2]string
	commands map[string]string // raw file name → command
	raw      map[string]*results
}

func load(dir string) (*report, error) {
	r := &report{dir: dir, commands: map[string]string{}, raw: map[string]*results{}}
	if err := eachLine(filepath.Join(dir, "commands.tsv"), func(l string) {
		if f, c, ok := strings.Cut(l, "\t"); ok {
			r.commands[f] = c
		}
	}); err != nil {
		return nil, err
	}
	if err := eachLine(filepath.Join(dir, "meta.txt"), func(l string) {
		if k, v, ok := strings.Cut(l, ": "); ok {
			r.meta = append(r.meta, [2]string{k, v})
		}
	}); err != nil {
		return nil, err
	}
	for f := range r.commands {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		r.raw[f] = parse(fh)
		fh.Close()
	}
	return r, nil
}

func eachLine(path string, f func(string)) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			f(l)
		}
	}
	return sc.Err()
}

// get returns the named benchmark of raw file f.
func (r *report) get(f, name string) *result {
	if rs := r.raw[f]; rs != nil {
		return rs.get(name)
	}
	return nil
}

// cmd renders the command that produced raw file f.
func (r *report) cmd(b *strings.Builder, f string) {
	fmt.Fprintf(b, "Command (raw output: [`docs/bench/%s`](bench/%s)):\n\n```\n%s\n```\n\n", f, f, r.commands[f])
}

// failures returns the "--- FAIL" lines of raw file f with the indented
// lines that explain them, and the lines that say a module's run failed.
func (r *report) failures(f string) []string {
	var out []string
	in := false
	data, err := os.ReadFile(filepath.Join(r.dir, f))
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "--- FAIL"), strings.HasPrefix(l, "benchmarks of "):
			out, in = append(out, l), true
		case in && strings.HasPrefix(l, "    "):
			out = append(out, l)
		default:
			in = false
		}
	}
	return out
}
