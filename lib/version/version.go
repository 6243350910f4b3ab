// Package version holds the version every diffah tool reports and
// records in the archives it writes.
package version

// Tool is the name recorded as the writer of delta archives.
const Tool = "diffah"

// Version is this build's version.
const Version = "0.1.0"
