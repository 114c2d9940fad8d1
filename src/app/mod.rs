//! The app: messages in, pure `update`, effects out (see STYLE.md's shape).

pub mod keys;
pub mod state;

pub use state::*;
