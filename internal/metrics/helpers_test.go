package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// exposition is one scrape of /metrics, parsed.
type exposition struct {
	t    *testing.T
	fams map[string]*dto.MetricFamily
	text string
}

// scrape GETs url (a /metrics endpoint) and parses the answer.
func scrape(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return parse(t, string(body))
}

// scrapeHandler serves one scrape from h.
func scrapeHandler(t *testing.T, h http.Handler) exposition {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d\n%s", rec.Code, rec.Body)
	}
	return parse(t, rec.Body.String())
}

func parse(t *testing.T, text string) exposition {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, text)
	}
	return exposition{t: t, fams: fams, text: text}
}

// series returns the metric of family name whose labels are exactly
// labels ("k=v" pairs), or nil.
func (e exposition) series(name string, labels ...string) *dto.Metric {
	f := e.fams[name]
	if f == nil {
		return nil
	}
	want := append([]string(nil), labels...)
	sort.Strings(want)
	for _, m := range f.GetMetric() {
		var got []string
		for _, lp := range m.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return m
		}
	}
	return nil
}

// value returns a counter's or gauge's value, or a histogram's sample
// count; it fails the test if the series is missing.
func (e exposition) value(name string, labels ...string) float64 {
	e.t.Helper()
	m := e.series(name, labels...)
	if m == nil {
		e.t.Fatalf("no series %s%v in the exposition", name, labels)
		return 0
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	e.t.Fatalf("%s%v has no value", name, labels)
	return 0
}

// expect checks several values at once.
func (e exposition) expect(want map[string]float64) {
	e.t.Helper()
	for key, w := range want {
		name, rest, _ := strings.Cut(key, "{")
		var labels []string
		if rest = strings.TrimSuffix(rest, "}"); rest != "" {
			labels = strings.Split(rest, ",")
		}
		if got := e.value(name, labels...); got != w {
			e.t.Errorf("%s = %v, want %v", key, got, w)
		}
	}
}
