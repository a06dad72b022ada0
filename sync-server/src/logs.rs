//! The log's subscriber: text for people, or one JSON object a line for a log
//! collector (`log_format`). Each request is one event of target
//! `gocua_server::request` (`crate::metrics::observe`) in either format.

use crate::config::LogFormat;

/// Sends the log to stderr, filtered by `filter` (tracing's `EnvFilter`
/// syntax; an unreadable one means `info`). Does nothing if a subscriber is
/// set already.
pub fn init(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let set = match format {
        LogFormat::Text => builder.try_init(),
        // Flat objects: a collector indexes `route` and `status` without
        // digging into `fields`; spans carry nothing the events do not.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    if set.is_err() {
        tracing::debug!("a log subscriber was set already");
    }
}
