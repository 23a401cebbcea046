//! What the library tells its caller while it works, besides results and errors: warnings
//! (a query that could not be cancelled, a profiles file others can read) and progress (a
//! retry, a demo database being created). The library never prints; the command line
//! implements [`Events`] by printing each message on its own line of stderr.
//!
//! Besides messages for people, the library reports the steps of its work as [`Event`]s
//! (a statement sent, a statement finished with the warehouse's id for it): a command line
//! asked for `--log-format json` prints them, and `segc run` records them in its artifacts.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

/// A step of a command, for a log that machines read: a name (`query_sent`,
/// `query_finished`, …) and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub fields: Map<String, Json>,
}

impl Event {
    pub fn new(name: &'static str) -> Event {
        Event {
            name,
            fields: Map::new(),
        }
    }

    /// The event with one more field.
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Event {
        self.fields.insert(key.to_string(), value.into());
        self
    }
}

/// Receives the library's warnings and progress messages, one line of text each (a message
/// may hold line breaks of its own). Messages are complete sentences for a person, with
/// their `warning:` or `error:` prefix when they have one.
pub trait Events: Send + Sync {
    /// Something went wrong that does not fail the command.
    fn warn(&self, message: &str);
    /// What is happening now: a retry, a wait, a file being created.
    fn progress(&self, message: &str);
    /// A step of the work, for machines; ignored unless a receiver wants it.
    fn record(&self, _event: &Event) {}
}

/// Drops every message: what a caller gets unless it asks for them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Events for Silent {
    fn warn(&self, _: &str) {}
    fn progress(&self, _: &str) {}
}

/// A shared handle on an [`Events`] receiver, cheap to clone into options and threads;
/// [`Silent`] by default.
#[derive(Clone)]
pub struct EventSink(Arc<dyn Events>);

impl EventSink {
    pub fn new(events: impl Events + 'static) -> EventSink {
        EventSink(Arc::new(events))
    }

    pub fn warn(&self, message: &str) {
        self.0.warn(message);
    }

    pub fn progress(&self, message: &str) {
        self.0.progress(message);
    }

    pub fn record(&self, event: &Event) {
        self.0.record(event);
    }
}

impl Default for EventSink {
    fn default() -> EventSink {
        EventSink::new(Silent)
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

impl Events for EventSink {
    fn warn(&self, message: &str) {
        self.0.warn(message);
    }

    fn progress(&self, message: &str) {
        self.0.progress(message);
    }

    fn record(&self, event: &Event) {
        self.0.record(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Events for Arc<Recorder> {
        fn warn(&self, message: &str) {
            self.0.lock().unwrap().push(format!("warn {message}"));
        }
        fn progress(&self, message: &str) {
            self.0.lock().unwrap().push(format!("progress {message}"));
        }
        fn record(&self, event: &Event) {
            let fields = serde_json::to_string(&event.fields).unwrap();
            self.0
                .lock()
                .unwrap()
                .push(format!("event {} {fields}", event.name));
        }
    }

    #[test]
    fn a_sink_passes_messages_on_and_is_silent_by_default() {
        let recorder = Arc::new(Recorder::default());
        let sink = EventSink::new(recorder.clone());
        sink.clone().warn("a");
        sink.progress("b");
        sink.record(&Event::new("query_sent").with("rows", 3));
        EventSink::default().warn("dropped");
        EventSink::default().record(&Event::new("dropped"));
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["warn a", "progress b", r#"event query_sent {"rows":3}"#]
        );
    }
}
