CREATE TABLE `operations_minutely` (
	`minute` integer NOT NULL,
	`kind` text NOT NULL,
	`amount` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`minute`, `kind`)
);
