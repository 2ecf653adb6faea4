//! Stage 1: files to positioned YAML trees, with no Kubernetes knowledge. [`discover`] walks
//! the paths in parallel, [`load`] reads each file and splits it into documents, [`yaml`]
//! builds each document's tree under depth and alias budgets.

pub mod discover;
mod lines;
pub mod load;
pub mod skim;
pub mod yaml;
