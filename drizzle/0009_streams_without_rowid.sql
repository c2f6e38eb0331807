-- The streams table keyed by its primary key alone (WITHOUT ROWID): one B-tree instead of a
-- rowid table plus the index of its text key. A new stream is one B-tree write, not two, and
-- `audit verify` reads it in key order without a second lookup per row. Rows are kept as they are.
CREATE TABLE `streams_by_id` (
	`stream_id` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `streams_by_id` (`stream_id`, `version`, `updated_at`) SELECT `stream_id`, `version`, `updated_at` FROM `streams`;
--> statement-breakpoint
DROP TABLE `streams`;
--> statement-breakpoint
ALTER TABLE `streams_by_id` RENAME TO `streams`;
