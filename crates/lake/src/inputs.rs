//! A lake as an input of `osprey read`.

use std::path::Path;
use std::sync::Arc;

use osprey_source::{Diagnostics, Inputs, OpenError};

use crate::{is_lake, LakeReader};

/// Opens `osprey read`'s inputs: a lake directory becomes one input of NDJSON events (see
/// [`LakeReader`]); anything else opens as [`Inputs::open`] opens it. A lake must be the only
/// input (its events are already merged in time order; merging them with other files too is
/// not supported yet).
pub fn open_inputs(specs: &[String], diag: Arc<Diagnostics>) -> Result<Inputs, OpenError> {
    let lakes: Vec<&String> = specs.iter().filter(|s| is_lake(Path::new(s))).collect();
    match (lakes.as_slice(), specs.len()) {
        ([], _) => Inputs::open(specs, diag),
        ([lake], 1) => {
            let reader = LakeReader::open(Path::new(lake)).map_err(|source| OpenError::Io {
                name: lake.to_string(),
                source,
            })?;
            // The lake is the run's only input, number 0; a damaged file makes the exit code 1,
            // as a damaged record of an event file does.
            // Named now: the first read (to recognise the content) may already report one.
            diag.register(0, lake);
            let report = diag.clone();
            let reader = reader.on_damage(move |message| report.unreadable(0, None, message));
            Inputs::open_reader(Box::new(reader), lake.to_string(), diag)
        }
        ([lake, ..], _) => Err(OpenError::Unrecognized {
            name: lake.to_string(),
            reason: "a Parquet lake is read on its own: give it as the only -r".into(),
        }),
    }
}
