//! The lake's columns (docs/fleet.md lists them with their meaning), and the builders that
//! collect one partition's rows into Arrow arrays.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    BinaryBuilder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use osprey_event::Event;

/// Name of the column holding the original JSON bytes of each event.
pub const EVENT_COLUMN: &str = "event";
/// Name of the column holding the event's time.
pub const TIMESTAMP_COLUMN: &str = "timestamp";

/// The lake's schema. The partition keys (`dt`, `hour`, `host`) are in the path only; the
/// exact host name is the `host_name` column (the `host` key is percent-encoded, and a
/// column of the same name would clash with Hive partitioning in the engines).
pub fn lake_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let int = |name: &str| Field::new(name, DataType::Int64, false);
            let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
            Arc::new(Schema::new(vec![
                Field::new(
                    TIMESTAMP_COLUMN,
                    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                    false,
                ),
                text("host_name", false),
                int("process_id"),
                int("thread_id"),
                int("parent_process_id"),
                int("host_process_id"),
                int("host_thread_id"),
                int("host_parent_process_id"),
                int("user_id"),
                text("process_name", false),
                text("executable_path", true),
                text("container_id", true),
                text("container_name", true),
                text("container_image", true),
                text("pod_name", true),
                text("pod_namespace", true),
                text("event_name", false),
                int("event_id"),
                int("return_value"),
                Field::new("severity", DataType::Int64, true),
                Field::new(EVENT_COLUMN, DataType::Binary, false),
            ]))
        })
        .clone()
}

/// An event's values for the typed columns, taken out of its parsed form: made where the event
/// was parsed (`osprey read`'s workers), written on a lake writer's thread.
pub struct Row {
    pub(crate) timestamp: u64,
    pub(crate) host_name: Box<str>,
    ints: [i64; 7],
    process_name: Box<str>,
    executable_path: Option<Box<str>>,
    context: [Option<Box<str>>; 5],
    event_name: Box<str>,
    event_id: i64,
    return_value: i64,
    severity: Option<i64>,
}

impl Row {
    /// The columns' values of `event`.
    pub fn of(event: &Event) -> Row {
        // Empty means "not in a container / pod": null, so SQL's IS NULL says so.
        let text = |value: &str| (!value.is_empty()).then(|| value.into());
        Row {
            timestamp: event.timestamp,
            host_name: event.host_name.as_ref().into(),
            ints: [
                event.process_id,
                event.thread_id,
                event.parent_process_id,
                event.host_process_id,
                event.host_thread_id,
                event.host_parent_process_id,
                event.user_id,
            ],
            process_name: event.process_name.as_ref().into(),
            executable_path: event.executable_path.as_deref().and_then(text),
            context: [
                text(&event.container.id),
                text(&event.container.name),
                text(&event.container.image),
                text(&event.kubernetes.pod_name),
                text(&event.kubernetes.pod_namespace),
            ],
            event_name: event.event_name.as_ref().into(),
            event_id: event.event_id,
            return_value: event.return_value,
            severity: severity(event),
        }
    }
}

/// One partition's rows not yet handed to its Parquet writer, column by column.
pub struct RowBuilders {
    timestamp: TimestampNanosecondBuilder,
    host_name: StringBuilder,
    ints: [Int64Builder; 7],
    process_name: StringBuilder,
    executable_path: StringBuilder,
    context: [StringBuilder; 5],
    event_name: StringBuilder,
    event_id: Int64Builder,
    return_value: Int64Builder,
    severity: Int64Builder,
    event: BinaryBuilder,
    rows: usize,
}

impl RowBuilders {
    pub fn new() -> RowBuilders {
        RowBuilders {
            timestamp: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            host_name: StringBuilder::new(),
            ints: std::array::from_fn(|_| Int64Builder::new()),
            process_name: StringBuilder::new(),
            executable_path: StringBuilder::new(),
            context: std::array::from_fn(|_| StringBuilder::new()),
            event_name: StringBuilder::new(),
            event_id: Int64Builder::new(),
            return_value: Int64Builder::new(),
            severity: Int64Builder::new(),
            event: BinaryBuilder::new(),
            rows: 0,
        }
    }

    /// Rows appended since the last [`RowBuilders::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Appends one event: `json` its original bytes, `row` its columns' values.
    pub fn append(&mut self, json: &[u8], row: &Row) {
        // Timestamps past 2262 do not fit Parquet's signed nanoseconds; they are clamped
        // (the JSON keeps the exact value).
        let ts = i64::try_from(row.timestamp).unwrap_or(i64::MAX);
        self.timestamp.append_value(ts);
        self.host_name.append_value(&row.host_name);
        for (builder, &value) in self.ints.iter_mut().zip(&row.ints) {
            builder.append_value(value);
        }
        self.process_name.append_value(&row.process_name);
        self.executable_path
            .append_option(row.executable_path.as_deref());
        for (builder, value) in self.context.iter_mut().zip(&row.context) {
            builder.append_option(value.as_deref());
        }
        self.event_name.append_value(&row.event_name);
        self.event_id.append_value(row.event_id);
        self.return_value.append_value(row.return_value);
        self.severity.append_option(row.severity);
        self.event.append_value(json);
        self.rows += 1;
    }

    /// The rows as one batch; the builders are empty again afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.host_name.finish()),
        ];
        columns.extend(
            self.ints
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.process_name.finish()));
        columns.push(Arc::new(self.executable_path.finish()));
        columns.extend(
            self.context
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.event_name.finish()));
        columns.push(Arc::new(self.event_id.finish()));
        columns.push(Arc::new(self.return_value.finish()));
        columns.push(Arc::new(self.severity.finish()));
        columns.push(Arc::new(self.event.finish()));
        self.rows = 0;
        RecordBatch::try_new(lake_schema(), columns)
    }
}

/// A finding's `Severity` property (Tracee writes an integer, 0 to 3); `None` for ordinary
/// events and for findings without one.
fn severity(event: &Event) -> Option<i64> {
    if !event.is_signature() {
        return None;
    }
    event.metadata.as_ref()?.property("Severity")?.as_i64()
}
