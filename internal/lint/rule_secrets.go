package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// secretLastWords are the final words of variable names that hold secrets:
// DB_PASSWORD, NPM_TOKEN, AWS_SECRET_ACCESS_KEY, API_KEY, SECRET ...
var secretLastWords = map[string]bool{
	"KEY": true, "TOKEN": true, "PASSWORD": true, "PASSWD": true, "PASSPHRASE": true,
	"SECRET": true, "APIKEY": true, "CREDENTIAL": true, "CREDENTIALS": true,
}

// pointerWords end names that hold where a secret is, not the secret:
// POSTGRES_PASSWORD_FILE, SSH_PRIVATE_KEY_PATH.
var pointerWords = map[string]bool{"FILE": true, "PATH": true, "DIR": true}

// secretName reports whether a variable name looks like it holds a secret.
//
// It matches names whose last word (split on _, - and .) is KEY, TOKEN,
// PASSWORD, PASSWD, PASSPHRASE, SECRET, APIKEY or CREDENTIAL(S), and names
// containing SECRET_KEY or PRIVATE_KEY unless they end in FILE, PATH or DIR.
// It deliberately does not match names with a PUBLIC or PUB word
// (PUBLIC_KEY), nor GPG/PGP keys without a PRIVATE or SECRET word: official
// images set GPG_KEY to the fingerprint used to verify downloads, which is
// public.
func secretName(name string) bool {
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool {
		return r == '_' || r == '-' || r == '.'
	})
	if len(words) == 0 {
		return false
	}
	has := map[string]bool{}
	for _, w := range words {
		has[w] = true
	}
	if has["PUBLIC"] || has["PUB"] {
		return false
	}
	if (has["GPG"] || has["PGP"]) && !has["PRIVATE"] && !has["SECRET"] {
		return false
	}
	last := words[len(words)-1]
	if secretLastWords[last] {
		return true
	}
	if pointerWords[last] {
		return false
	}
	joined := "_" + strings.Join(words, "_") + "_"
	return strings.Contains(joined, "_SECRET_KEY_") || strings.Contains(joined, "_PRIVATE_KEY_")
}

var (
	// urlCredential matches scheme://user:password@ and captures the password.
	urlCredential = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]+:([^/\s@'"]+)@`)
	awsAccessKey  = regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)
	privateKey    = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)
)

// literalCredential describes the first credential written out in s, or
// returns "". A URL password that is a variable reference ($TOKEN) is not a
// literal; the variable's own name is checked where it is declared.
func literalCredential(s string) string {
	for _, m := range urlCredential.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "$") {
			return "a URL with an embedded password"
		}
	}
	if awsAccessKey.MatchString(s) {
		return "an AWS access key id"
	}
	if privateKey.MatchString(s) {
		return "a private key"
	}
	return ""
}

// checkSecrets is XB002: secrets in ENV or ARG, and credentials written out
// in ENV, ARG or RUN. Messages name the variable, never the value.
func checkSecrets(df *dockerfile) []Finding {
	var out []Finding
	add := func(line int, format string, args ...any) {
		out = append(out, newFinding(df.file, "XB002", line, fmt.Sprintf(format, args...)))
	}
	checkArg := func(c command) {
		for _, kv := range c.cmd.(*instructions.ArgCommand).Args {
			switch {
			case secretName(kv.Key):
				msg := "ARG %s looks like a secret: build-arg values are recorded in the image history and in provenance attestations"
				if kv.Value != nil {
					msg += " (default value redacted)"
				}
				add(c.line(), msg, kv.Key)
			case kv.Value != nil && literalCredential(*kv.Value) != "":
				add(c.line(), "ARG %s has a default value containing %s (value redacted)", kv.Key, literalCredential(*kv.Value))
			}
		}
	}
	for _, c := range df.metaArgs {
		checkArg(c)
	}
	for _, s := range df.stages {
		for _, c := range s.cmds {
			switch cmd := c.cmd.(type) {
			case *instructions.ArgCommand:
				checkArg(c)
			case *instructions.EnvCommand:
				for _, kv := range cmd.Env {
					switch {
					case secretName(kv.Key) && kv.Value != "":
						add(c.line(), "ENV sets %s, which looks like a secret (value redacted): ENV values are stored in the image config for anyone who can pull it", kv.Key)
					case literalCredential(kv.Value) != "":
						add(c.line(), "ENV %s contains %s (value redacted)", kv.Key, literalCredential(kv.Value))
					}
				}
			case *instructions.RunCommand:
				if kind := literalCredential(runText(cmd)); kind != "" {
					add(c.line(), "RUN contains %s (value redacted): the command is recorded in the image history", kind)
				}
			}
		}
	}
	return out
}
