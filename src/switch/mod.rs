//! The switch core: channels, bridges, typed events, calls (being written).
