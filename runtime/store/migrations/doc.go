// Package migrations holds Starflow's schema as SQL migrations embedded in
// the binary, one folder per dialect (sqlite/, postgres/) with the same
// version numbers in both, applied with github.com/pressly/goose/v3.
//
// Ensure implements the store's MigrateMode: create the schema in an empty
// database, upgrade on request, and refuse a schema newer than the binary.
// A new migration is a new NNNNN_name.sql file in both folders; a test
// checks that the folders stay matched.
package migrations
