//! Stage 5: effective egress and reachability of the metadata endpoints. Pure: no I/O.
//!
//! [`egress`] is the native NetworkPolicy union; [`chain`] the precedence chain of every
//! engine; [`verdicts`] turns them into per-namespace and per-workload answers; [`explain`]
//! splits a namespace into pod classes and says why each may or may not reach a target.

pub mod chain;
pub mod egress;
pub mod explain;
pub mod verdicts;

pub use verdicts::{Analysis, NamespaceVerdict, Opening, WorkloadVerdict, analyze};
