//! A lake as an input of `osprey read`.

use std::path::Path;
use std::sync::Arc;

use osprey_source::{Diagnostics, Inputs, OpenError};

use crate::{is_lake, LakeQuery, LakeReader, ScanCounters};

/// `osprey read`'s inputs, opened.
pub struct Opened {
    /// The inputs, for the usual pipeline.
    pub inputs: Inputs,
    /// What the lake read skipped and read, when the input is a lake.
    pub scan: Option<ScanCounters>,
}

/// Opens `osprey read`'s inputs: a lake directory becomes one input of NDJSON events (see
/// [`LakeReader`]), read with `query`'s pruning; anything else opens as [`Inputs::open`] opens
/// it. A lake must be the only input (its events are already merged in time order; merging
/// them with other files too is not supported yet).
pub fn open_inputs(
    specs: &[String],
    diag: Arc<Diagnostics>,
    query: LakeQuery,
) -> Result<Opened, OpenError> {
    let lakes: Vec<&String> = specs.iter().filter(|s| is_lake(Path::new(s))).collect();
    match (lakes.as_slice(), specs.len()) {
        ([], _) => Ok(Opened {
            inputs: Inputs::open(specs, diag)?,
            scan: None,
        }),
        ([lake], 1) => {
            let reader =
                LakeReader::open_query(Path::new(lake), query).map_err(|source| OpenError::Io {
                    name: lake.to_string(),
                    source,
                })?;
            let scan = reader.scan();
            // The lake is the run's only input, number 0; a damaged file makes the exit code 1,
            // as a damaged record of an event file does.
            // Named now: the first read (to recognise the content) may already report one.
            diag.register(0, lake);
            let report = diag.clone();
            let reader = reader.on_damage(move |message| report.unreadable(0, None, message));
            Ok(Opened {
                inputs: Inputs::open_events(Box::new(reader), lake.to_string(), diag)?,
                scan: Some(scan),
            })
        }
        ([lake, ..], _) => Err(OpenError::Unrecognized {
            name: lake.to_string(),
            reason: "a Parquet lake is read on its own: give it as the only -r".into(),
        }),
    }
}
