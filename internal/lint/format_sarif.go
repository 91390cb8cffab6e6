package lint

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0 documents, reduced to the properties WriteSARIF fills in.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string        `json:"id"`
		ShortDescription     sarifText     `json:"shortDescription"`
		Help                 *sarifText    `json:"help,omitempty"`
		HelpURI              string        `json:"helpUri,omitempty"`
		DefaultConfiguration *sarifDefault `json:"defaultConfiguration,omitempty"`
	}
	sarifDefault struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string           `json:"ruleId"`
		RuleIndex  int              `json:"ruleIndex"`
		Level      string           `json:"level"`
		Message    sarifText        `json:"message"`
		Locations  []sarifLocation  `json:"locations"`
		Properties *sarifProperties `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           sarifRegion   `json:"region"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	sarifProperties struct {
		Source string   `json:"source"`
		Also   []string `json:"also,omitempty"`
	}
)

// sarifLevel maps severities to SARIF levels; SARIF has no "style".
func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return "note"
	}
}

// WriteSARIF writes the result as a SARIF 2.1.0 log with one run whose
// driver is xbuild, for code-scanning dashboards. The rules list holds the
// built-in catalogue plus every other rule that has a result.
func WriteSARIF(w io.Writer, r *Result, toolVersion string) error {
	driver := sarifDriver{
		Name:           "xbuild",
		Version:        toolVersion,
		InformationURI: "https://github.com/xbuild-dev/xbuild",
	}
	index := map[string]int{}
	for _, rule := range catalogue {
		index[rule.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   rule.ID,
			ShortDescription:     sarifText{rule.Title},
			Help:                 &sarifText{rule.Hint},
			DefaultConfiguration: &sarifDefault{sarifLevel(rule.Severity)},
		})
	}
	results := []sarifResult{}
	for _, f := range r.Findings {
		i, ok := index[f.Rule]
		if !ok {
			i = len(driver.Rules)
			index[f.Rule] = i
			driver.Rules = append(driver.Rules, externalSARIFRule(f))
		}
		results = append(results, sarifResult{
			RuleID: f.Rule, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message: sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: fileURI(f.File)},
				Region:           sarifRegion{StartLine: max(f.Line, 1), StartColumn: max(f.Column, 0)},
			}}},
			Properties: &sarifProperties{Source: f.Source, Also: f.Also},
		})
	}
	doc := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// externalSARIFRule describes a hadolint or BuildKit rule from one of its
// findings; its hint, when it is a link, is the rule's documentation.
func externalSARIFRule(f Finding) sarifRule {
	desc := "hadolint rule " + f.Rule
	if f.Source == SourceBuildKit {
		desc = "BuildKit check " + f.Rule
	}
	rule := sarifRule{ID: f.Rule, ShortDescription: sarifText{desc}}
	if strings.HasPrefix(f.Hint, "https://") {
		rule.HelpURI = f.Hint
	}
	return rule
}

// fileURI turns a path into a SARIF artifact URI: relative paths stay
// relative (resolved against the scan root), absolute ones become file://.
func fileURI(p string) string {
	slashed := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // C:/x on Windows
		}
		return (&url.URL{Scheme: "file", Path: slashed}).String()
	}
	return (&url.URL{Path: slashed}).String()
}
