-- Who below the platform may read which event on GET /v1/events (src/projections/event-viewers.ts):
-- keyed by its primary key alone (WITHOUT ROWID), so a subtree's page is one range of one B-tree.
-- Filled by the projection's rebuild at the first start after this migration.
CREATE TABLE `event_viewers` (
	`viewer` text NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`viewer`, `position`)
) WITHOUT ROWID;
