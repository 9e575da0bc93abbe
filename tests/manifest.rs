//! manifest tests.
