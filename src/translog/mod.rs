//! translog (in progress).
