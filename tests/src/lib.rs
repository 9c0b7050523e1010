//! Black-box tests of tgcrm: the suite lives in `tests/api` and talks to a real
//! server over HTTP, on Postgres and on SQLite. This library is empty.
