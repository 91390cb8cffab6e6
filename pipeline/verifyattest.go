package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/config"
)

// The attestations verify can require of every platform image.
const (
	AttestProvenance = "provenance"
	AttestSBOM       = "sbom"
)

// predicateTypeAnnotation is the layer annotation BuildKit gives every
// in-toto statement of an attestation manifest.
const predicateTypeAnnotation = "in-toto.io/predicate-type"

// Predicate types BuildKit writes.
const (
	predicateSPDX = "https://spdx.dev/Document"
	// provenance predicates start with this (v0.2, v1)
	predicateSLSA = "https://slsa.dev/provenance/"
)

// attestation is what one attestation manifest attests about its image.
type attestation struct {
	attestsTo string
	// provenance is the SLSA predicate type found ("" when none)
	provenance string
	// sboms describe each SPDX document: "SPDX-2.3, 12 packages"; bad
	// those that are not SPDX JSON
	sboms, bad []string
}

// add records one in-toto statement of the attestation.
func (a *attestation) add(predicateType string, statement []byte) {
	switch {
	case strings.HasPrefix(predicateType, predicateSLSA):
		a.provenance = predicateType
	case predicateType == predicateSPDX:
		var st struct {
			PredicateType string `json:"predicateType"`
			Predicate     struct {
				SPDXVersion string            `json:"spdxVersion"`
				Packages    []json.RawMessage `json:"packages"`
			} `json:"predicate"`
		}
		if err := json.Unmarshal(statement, &st); err != nil || !strings.HasPrefix(st.Predicate.SPDXVersion, "SPDX-") {
			a.bad = append(a.bad, "an SPDX statement that is not an SPDX JSON document")
			return
		}
		a.sboms = append(a.sboms, fmt.Sprintf("%s, %d packages", st.Predicate.SPDXVersion, len(st.Predicate.Packages)))
	}
}

// requiredAttestations are the attestations a build asked for in so many
// words: an SBOM, max provenance. The default min provenance is not
// required: builders without attestation support (Docker's classic
// store) build without it.
func requiredAttestations(c config.Config) []string {
	var out []string
	if c.Provenance == config.ProvenanceMax {
		out = append(out, AttestProvenance)
	}
	if c.SBOM {
		out = append(out, AttestSBOM)
	}
	return out
}

// checkAttestations checks that the image digest of plat carries every
// attestation in want: a SLSA provenance statement, an SPDX document
// that parses.
func checkAttestations(plat, digest string, want []string, atts []*attestation) Check {
	var prov string
	var sboms, bad []string
	for _, a := range atts {
		if a.attestsTo != digest {
			continue
		}
		if a.provenance != "" {
			prov = a.provenance
		}
		sboms = append(sboms, a.sboms...)
		bad = append(bad, a.bad...)
	}
	sort.Strings(sboms)
	var have, missing []string
	for _, w := range want {
		switch w {
		case AttestProvenance:
			if prov == "" {
				missing = append(missing, "provenance")
			} else {
				have = append(have, "provenance ("+prov+")")
			}
		case AttestSBOM:
			if len(sboms) == 0 {
				missing = append(missing, "SPDX SBOM")
			} else {
				have = append(have, "SBOM ("+strings.Join(sboms, "; ")+")")
			}
		}
	}
	c := Check{Name: "attestations", Platform: plat, OK: len(missing) == 0 && len(bad) == 0}
	switch {
	case len(bad) > 0:
		c.Detail = strings.Join(bad, "; ")
	case len(missing) > 0:
		c.Detail = fmt.Sprintf("no %s attestation for %s", strings.Join(missing, " or "), short(digest))
		if len(have) > 0 {
			c.Detail += "; has " + strings.Join(have, ", ")
		}
	default:
		c.Detail = strings.Join(have, ", ")
	}
	return c
}
