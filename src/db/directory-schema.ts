// The directory database's tables (migrations-directory/): org → shard, and name → org for
// what arrives without naming its org.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const orgPlacements = sqliteTable(
  "org_placements",
  {
    orgId: text("org_id").primaryKey(),
    shard: integer("shard").notNull(),
    region: text("region"),
    movingSince: integer("moving_since"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("org_placements_shard").on(t.shard)],
);

export const owners = sqliteTable(
  "owners",
  {
    kind: text("kind", { enum: ["key", "connection"] }).notNull(),
    name: text("name").notNull(),
    orgId: text("org_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.name] })],
);
