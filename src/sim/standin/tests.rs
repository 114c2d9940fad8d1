//! Stand-in tests.
