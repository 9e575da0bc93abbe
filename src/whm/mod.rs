//! whm (in progress).
