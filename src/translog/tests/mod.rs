//! Tests over whole logs: the documented fixtures, hand-written logs and properties.
