//! Rendering: plain functions per screen region that only read `State`.
use crate::app::State;
use crate::theme::Theme;

pub fn render(_frame: &mut ratatui::Frame, _state: &State, _theme: &Theme) {}
