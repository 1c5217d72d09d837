package store

import (
	"log/slog"

	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// MigrateMode says what Open does about the schema.
type MigrateMode string

// Migrate modes.
const (
	// MigrateAuto creates the schema in an empty database and otherwise
	// requires it to be current: an older schema is ErrSchemaOutdated
	// (run `starflow db migrate`), a newer one ErrSchemaTooNew.
	MigrateAuto MigrateMode = "auto"
	// MigrateAlways upgrades the schema to the binary's version (refusing
	// a newer one), as `starflow db migrate` does.
	MigrateAlways MigrateMode = "always"
	// MigrateNever connects without looking at the schema, as
	// `starflow db check` does before it reports SchemaStatus.
	MigrateNever MigrateMode = "never"
)

// Options configure either implementation's Open.
type Options struct {
	// Logger receives the store's logs; nil means slog.Default().
	Logger *slog.Logger
	// Secrets encrypts connection passwords and secret variables. Nil
	// leaves the store unable to write or read secrets: such calls fail
	// with a message saying how to configure a key.
	Secrets secrets.Cipher
	// Migrate says what to do about the schema; empty means MigrateAuto.
	Migrate MigrateMode
}

// LoggerOrDefault returns o.Logger, or slog.Default() when it is nil.
func (o Options) LoggerOrDefault() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}
