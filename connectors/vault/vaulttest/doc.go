// Package vaulttest runs the Vault token store against a real, in-process
// Vault server (Vault's own test core). It is a separate module so that the
// hookflow binary and the root go.mod never link Vault's server, which is
// BSL-licensed and pulls ~800 extra modules.
package vaulttest
