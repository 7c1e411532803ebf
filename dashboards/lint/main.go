// dashboard-lint checks podmeter's Grafana dashboards with Prometheus' own PromQL parser:
//
//   - every panel (rows aside) and every target uses the templated data source
//     {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, every panel has a title and a unit;
//   - every target's expr parses once Grafana's variables are substituted;
//   - a counter (*_total) or a histogram's _bucket/_count/_sum only appears as the range of
//     rate(), increase() or irate(), and that range is $__rate_interval.
//
// Usage: go run . dashboard.json…   Prints one line per problem and exits 1 if there is any.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// rateInterval stands in for $__rate_interval while parsing: an odd duration no dashboard writes
// by hand, so a range equal to it was $__rate_interval.
const rateInterval = 4321 * time.Second

var (
	templatedDatasource = map[string]string{"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
	counterSuffixes     = []string{"_total", "_bucket", "_count", "_sum"}
	rateFunctions       = map[string]bool{"rate": true, "increase": true, "irate": true}
	variableRef         = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)`)
)

type target struct {
	RefID      string            `json:"refId"`
	Expr       string            `json:"expr"`
	Datasource map[string]string `json:"datasource"`
}

type panel struct {
	ID          int               `json:"id"`
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	Datasource  map[string]string `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"` // a collapsed row's panels
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

// substitute replaces Grafana's variables with values that parse: interval variables with a
// duration (the rate interval with its sentinel), any other with a plain word (they stand inside
// label matcher strings).
func substitute(expr string, intervals map[string]bool) string {
	return variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		switch {
		case name == "__rate_interval":
			return fmt.Sprintf("%ds", int(rateInterval.Seconds()))
		case name == "__interval" || name == "__range" || intervals[name]:
			return "5m"
		case strings.TrimLeft(name, "0123456789") == "":
			return ref // label_replace's "$1"
		default:
			return "var_" + name
		}
	})
}

func isCounter(name string) bool {
	for _, s := range counterSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// lintExpr returns the problems of one (substituted) query.
func lintExpr(expr string) []string {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	var problems []string
	parser.Inspect(ast, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if !isCounter(n.Name) {
				return nil
			}
			ok := len(path) >= 2
			if ok {
				_, isMatrix := path[len(path)-1].(*parser.MatrixSelector)
				call, isCall := path[len(path)-2].(*parser.Call)
				ok = isMatrix && isCall && rateFunctions[call.Func.Name]
			}
			if !ok {
				problems = append(problems, fmt.Sprintf(
					"counter %s is used outside rate()/increase()/irate()", n.Name))
			}
		case *parser.Call:
			if !rateFunctions[n.Func.Name] {
				return nil
			}
			for _, arg := range n.Args {
				m, isMatrix := arg.(*parser.MatrixSelector)
				if !isMatrix || m.Range != rateInterval {
					problems = append(problems, fmt.Sprintf(
						"%s() must take a plain selector over [$__rate_interval]: %s", n.Func.Name, arg))
				}
			}
		}
		return nil
	})
	return problems
}

func sameDatasource(ds map[string]string) bool {
	return len(ds) == len(templatedDatasource) && ds["type"] == templatedDatasource["type"] &&
		ds["uid"] == templatedDatasource["uid"]
}

func lintPanel(p panel, intervals map[string]bool) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("panel %d %q: ", p.ID, p.Title)+fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(p.Title) == "" {
		add("has no title")
	}
	if !sameDatasource(p.Datasource) {
		add(`datasource must be {"type":"prometheus","uid":"${DS_PROMETHEUS}"}, not %v`, p.Datasource)
	}
	if p.FieldConfig.Defaults.Unit == "" {
		add("has no unit (fieldConfig.defaults.unit)")
	}
	if len(p.Targets) == 0 {
		add("has no targets")
	}
	for _, t := range p.Targets {
		if !sameDatasource(t.Datasource) {
			add(`target %s: datasource must be {"type":"prometheus","uid":"${DS_PROMETHEUS}"}, not %v`,
				t.RefID, t.Datasource)
		}
		if strings.TrimSpace(t.Expr) == "" {
			add("target %s has no expr", t.RefID)
			continue
		}
		for _, problem := range lintExpr(substitute(t.Expr, intervals)) {
			add("target %s: %s", t.RefID, problem)
		}
	}
	return problems
}

func lintFile(path string) (problems []string, panels, queries int) {
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}, 0, 0
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return []string{fmt.Sprintf("not a dashboard: %v", err)}, 0, 0
	}
	intervals := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type == "interval" {
			intervals[v.Name] = true
		}
	}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	for _, p := range all {
		if p.Type == "row" {
			continue
		}
		panels++
		queries += len(p.Targets)
		problems = append(problems, lintPanel(p, intervals)...)
	}
	if panels == 0 {
		problems = append(problems, "has no panels")
	}
	return problems, panels, queries
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashboard-lint dashboard.json…")
		os.Exit(2)
	}
	failed := false
	for _, path := range os.Args[1:] {
		problems, panels, queries := lintFile(path)
		for _, p := range problems {
			fmt.Printf("%s: %s\n", path, p)
			failed = true
		}
		if len(problems) == 0 {
			fmt.Printf("%s: ok, %d panels, %d queries parsed\n", path, panels, queries)
		}
	}
	if failed {
		os.Exit(1)
	}
}
