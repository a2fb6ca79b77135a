//! Given / when / then tests for the order aggregate, and property tests over random
//! command sequences.
