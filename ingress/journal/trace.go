package journal

// traceMigration is the step both journals append for the trace each
// delivery was accepted in (workflows.Event.TraceParent): Pending gives it
// back, so that the forwarder's signal continues that trace.
const traceMigration = `ALTER TABLE deliveries ADD COLUMN trace_parent TEXT NOT NULL DEFAULT ''`
