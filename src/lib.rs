//! timescales
