//! Loaded files for the unit tests of this stage.

use super::{Resolution, resolve};
use crate::decode::object::Object;
use crate::source::load::{LoadedFile, load_stream};
use std::path::{Path, PathBuf};

pub(super) fn file(path: &str, text: &str) -> LoadedFile {
    let mut f = load_stream(path, text.as_bytes(), &crate::decode::object::keep);
    f.path = PathBuf::from(path);
    if crate::source::load::is_kustomization(Path::new(path)) {
        f.kustomization = crate::source::yaml::parse_documents(text, 0)
            .unwrap()
            .into_iter()
            .next();
    }
    f
}

pub(super) fn resolve_files(files: &mut [LoadedFile]) -> Resolution {
    let objects: Vec<Vec<Object>> = files
        .iter_mut()
        .map(crate::decode::object::file_objects)
        .collect();
    resolve(files, &objects, &[], &super::ClusterMap::default())
}
