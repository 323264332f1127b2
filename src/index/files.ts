/**
 * The per-mailbox index: <user maildir>/mailstore.sqlite. Schema: docs/index-schema.md. Its
 * own module, so code that only looks at the file (the nightly stamp check) loads no SQLite.
 */
export const INDEX_FILE = "mailstore.sqlite";
