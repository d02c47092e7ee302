//! PostgreSQL adapter tests (real server; see scripts/pg.sh).
