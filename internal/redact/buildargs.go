package redact

import (
	"encoding/csv"
	"strings"
)

// AddBuildArgs registers the secrets among build arguments, before
// anything prints them (lint, the plan, buildx): the credentials in every
// value that holds a URL or a user:password@host reference (proxy
// settings above all; see AddURL), and the whole value of every argument
// whose name looks secret (LooksSecret) or is one of marked, the names the
// user declared secret (compared without regard to case).
func (r *Redactor) AddBuildArgs(args map[string]string, marked ...string) {
	for k, v := range args {
		r.AddURL(v)
		if LooksSecret(k) || containsFold(marked, k) {
			r.Add(v)
		}
	}
}

// AddCache registers the credentials in --cache-to / --cache-from values,
// which buildx reads as CSV records of key=value attributes
// (type=s3,access_key_id=...,secret_access_key=...;
// type=registry,ref=user:pass@registry.example.com/app:cache): the value of
// every attribute whose name looks secret, and the credentials in any
// value (or bare reference) holding a URL or user:password@host.
func (r *Redactor) AddCache(specs ...string) {
	for _, spec := range specs {
		fields, err := csv.NewReader(strings.NewReader(spec)).Read()
		if err != nil {
			fields = strings.Split(spec, ",") // buildx will refuse it; still mask what it holds
		}
		for _, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				r.AddURL(f) // a bare reference: --cache-from user:pass@host/app:cache
				continue
			}
			if LooksSecret(k) {
				r.Add(v)
			}
			r.AddURL(v)
		}
	}
}

// secretWords are name parts that mark a secret wherever they appear
// (NPMTOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY).
var secretWords = []string{
	"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL",
	"APIKEY", "API_KEY", "PRIVATE_KEY", "PRIVATEKEY", "ACCESS_KEY", "ACCESSKEY",
}

// secretTokens are whole '_'/'-'/'.'-separated name parts that mark a
// secret (DB_PASS, BASIC_AUTH, GIT_CREDS), but that are too short to be
// searched for inside other words (BYPASS, AUTHOR).
var secretTokens = map[string]bool{
	"PASS": true, "PWD": true, "AUTH": true, "OAUTH": true, "AUTHORIZATION": true,
	"CREDS": true, "NETRC": true, "DSN": true, "COOKIE": true, "PAT": true,
}

// LooksSecret reports build-argument (and cache attribute) names whose
// values must never be printed: names containing PASSWORD, PASSWD,
// PASSPHRASE, SECRET, TOKEN, CREDENTIAL, APIKEY, API_KEY, PRIVATE_KEY or
// ACCESS_KEY; names with a part PASS, PWD, AUTH, OAUTH, AUTHORIZATION,
// CREDS, NETRC, DSN, COOKIE or PAT (parts are separated by '_', '-' or
// '.'); and names ending in a part KEY (SSH_KEY, SIGNING_KEY). The name PWD
// alone is the working directory, not a password. Case does not matter.
func LooksSecret(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	parts := strings.FieldsFunc(u, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for i, p := range parts {
		switch {
		case p == "PWD" && len(parts) == 1:
		case secretTokens[p]:
			return true
		case p == "KEY" && i == len(parts)-1:
			return true
		}
	}
	return false
}

// MaskValue renders a NAME=value entry (a build argument, an XBUILD_*
// list entry) for a message without its value: NAME=[REDACTED]. An entry
// without '=' is masked whole: it may be the tail of a value that held a
// comma, or a value given without its name.
func MaskValue(entry string) string {
	name, _, ok := strings.Cut(entry, "=")
	if !ok {
		return Mask
	}
	return name + "=" + Mask
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
