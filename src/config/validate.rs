//! Semantic checks on a parsed config (owned by the config work).
