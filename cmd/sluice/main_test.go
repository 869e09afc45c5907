package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestRunRefusesBadInvocations(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "unknown or missing command"},
		{[]string{"serve"}, "unknown or missing command"},
		{[]string{"proxy", "extra"}, "unexpected arguments"},
		{[]string{"proxy", "--log-format", "xml"}, "log-format"},
		{[]string{"proxy", "--no-such-flag"}, "no-such-flag"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, env, &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), tc.want) {
			t.Errorf("%q: %v", tc.args, err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"proxy", "-h"}, env, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "SLUICE_") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
	bad := func(k string) string {
		if k == "SLUICE_TIMEOUT" {
			return "soon"
		}
		return ""
	}
	if err := run(context.Background(), []string{"proxy"}, bad, &out); err == nil || !strings.Contains(err.Error(), "SLUICE_TIMEOUT") {
		t.Errorf("bad env: %v", err)
	}
}
