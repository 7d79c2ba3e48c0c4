CREATE TABLE "institution_throttles" (
	"application_id" text NOT NULL,
	"institution_id" text NOT NULL,
	"holders" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"next_start_at" timestamp with time zone DEFAULT 'epoch'::timestamptz NOT NULL,
	"slowed_until" timestamp with time zone DEFAULT 'epoch'::timestamptz NOT NULL,
	"rate_factor" double precision DEFAULT 1 NOT NULL,
	"penalty_until" timestamp with time zone DEFAULT 'epoch'::timestamptz NOT NULL,
	CONSTRAINT "institution_throttles_application_id_institution_id_pk" PRIMARY KEY("application_id","institution_id")
);
--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "sandbox_rate_limits" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "applications" ADD COLUMN "institution_settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "institution_throttles" ADD CONSTRAINT "institution_throttles_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;