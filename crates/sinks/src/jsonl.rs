//! JSON Lines files with rotation by size and age, and stdout.
