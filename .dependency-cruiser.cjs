// The house's dependency rules (npm run deps, run by .ci/run). Production code only; type-only
// imports count. Two ideas, held here so CI holds them:
//
// FLOORS — a module imports only from floors below its own:
//   0  src/index.ts, src/app.ts, src/watchdog.ts   the Worker, the Hono app, the cron watchdog
//   1  src/edge/, src/mcp/, src/dashboard/          faces: public edge routes, MCP, the dashboard
//   2  src/docs/                                    the documents (the MCP server serves them too)
//   3  wing entry points                            src/<wing>/{routes,consumers,objects,object}/
//   4  wing cores                                   src/<wing>/*.ts: the wing's verbs and store
//   5  src/providers/                               one module per provider
//   6  src/http/                                    cross-cutting HTTP: auth, errors, pagination
//   7  src/db/                                      the drizzle schema and shared queries
//   8  src/security/                                credentials, SSRF policy, tokens, encoding
//   9  src/ground/, src/types/                      ids, queues, log, retry, env, errors, contracts
//  10  src/engine/                                  the pure workflow engine
//  11  src/lib/                                     pure helpers: csv, charts, text, phone zones
//
// WINGS — a product capability lives in one folder, src/<wing>/. Another wing is reached only
// through its index.ts (a route may also read another wing's route schemas, the shapes it
// answers with). Only floor 0 imports a wing's entry points. Wing cores are ranked: a core
// imports only wings ranked below it, so the wings form no circle; no core speaks HTTP.
const WINGS = [
  // lowest first
  "workflows",
  "webhooks",
  "accounts",
  "analytics",
  "contacts",
  "enrollments",
  "events",
  "messaging",
  "agents",
];
const ENTRY_DIRS = "(routes|consumers|objects|object)";
const wingList = `(${WINGS.join("|")})`;

const FLOORS = [
  ["^src/(index|app|watchdog)\\.ts$"],
  ["^src/edge/", "^src/mcp/", "^src/dashboard/"],
  ["^src/docs/"],
  [`^src/${wingList}/${ENTRY_DIRS}/`],
  [`^src/${wingList}/[^/]+\\.ts$`],
  ["^src/providers/"],
  ["^src/http/"],
  ["^src/db/"],
  ["^src/security/"],
  ["^src/ground/", "^src/types/"],
  ["^src/engine/"],
  ["^src/lib/"],
];

const any = (paths) => `(${paths.join("|")})`;

const upward = FLOORS.slice(1).map((floor, i) => ({
  name: `floor-${i + 1}-imports-upward`,
  comment: `${floor.join(", ")} may import only from floors below it`,
  severity: "error",
  from: { path: any(floor) },
  to: { path: any(FLOORS.slice(0, i + 1).flat()) },
}));

/** Two faces on one floor never import each other. */
const faces = ["edge", "mcp", "dashboard"].flatMap((a) =>
  ["edge", "mcp", "dashboard"]
    .filter((b) => b !== a)
    .map((b) => ({
      name: `face-${a}-to-${b}`,
      comment: `src/${a} and src/${b} are faces on one floor: neither imports the other`,
      severity: "error",
      from: { path: `^src/${a}/` },
      to: { path: `^src/${b}/` },
    })),
);

const wingRules = WINGS.flatMap((wing, rank) => {
  const others = WINGS.filter((w) => w !== wing);
  const higher = WINGS.slice(rank + 1);
  return [
    {
      name: `wing-${wing}-through-index`,
      comment: `other code reaches the ${wing} wing only through src/${wing}/index.ts (routes may read its route schemas); only floor 0 imports its entry points`,
      severity: "error",
      from: {
        path: "^src/",
        pathNot: [`^src/${wing}/`, "^src/(index|app|watchdog)\\.ts$"],
      },
      to: {
        path: `^src/${wing}/`,
        pathNot: [`^src/${wing}/index\\.ts$`, `^src/${wing}/routes/[^/]+/schemas\\.ts$`],
      },
    },
    {
      name: `wing-${wing}-route-schemas-only-from-routes`,
      comment: `another wing's route schemas are read only by routes`,
      severity: "error",
      from: { path: "^src/", pathNot: [`^src/${wing}/`, `^src/${wingList}/routes/`] },
      to: { path: `^src/${wing}/routes/[^/]+/schemas\\.ts$` },
    },
    ...(higher.length
      ? [
          {
            name: `wing-${wing}-core-imports-higher-wing`,
            comment: `the ${wing} core uses only wings ranked below it (${WINGS.slice(0, rank).join(", ") || "none"})`,
            severity: "error",
            from: { path: `^src/${wing}/[^/]+\\.ts$` },
            to: { path: `^src/(${higher.join("|")})/` },
          },
        ]
      : []),
    {
      name: `wing-${wing}-entries-stay-apart`,
      comment: `the ${wing} wing's entry points never import another wing's entry points`,
      severity: "error",
      from: { path: `^src/${wing}/${ENTRY_DIRS}/` },
      to: { path: `^src/(${others.join("|")})/${ENTRY_DIRS}/`, pathNot: "/routes/[^/]+/schemas\\.ts$" },
    },
  ];
});

module.exports = {
  forbidden: [
    { name: "no-circular-files", comment: "No import circle between files", severity: "error", from: {}, to: { circular: true } },
    {
      // Among the wings the ranks above keep the cores acyclic; a wing's entry points use any
      // wing's verbs (as every route did), so a folder view that rolls entries up into their
      // wing would call that a circle. The shared floors have no circle at all.
      name: "no-circular-folders",
      comment: "No import circle between the shared floors' folders",
      severity: "error",
      scope: "folder",
      from: { path: "^src/(providers|http|db|security|ground|types|engine|lib)/" },
      to: { circular: true },
    },
    {
      name: "everything-is-on-a-floor",
      comment: "Every production module belongs to a floor of the house or to a wing",
      severity: "error",
      from: { path: "^src/", pathNot: any(FLOORS.flat()) },
      to: { dependencyTypesNot: ["core"] },
    },
    {
      name: "wing-cores-speak-no-http",
      comment: "A wing's verbs throw DomainErrors and never import src/http/; routes map them to statuses",
      severity: "error",
      from: { path: `^src/${wingList}/[^/]+\\.ts$` },
      to: { path: "^src/http/" },
    },
    {
      name: "engine-has-no-openapi",
      comment: "The pure engine describes no HTTP: OpenAPI descriptions live in the route schemas",
      severity: "error",
      from: { path: "^src/(engine|lib)/" },
      to: { path: "@hono/zod-openapi|^src/http/" },
    },
    ...upward,
    ...faces,
    ...wingRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(test|scripts)/|\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: false,
  },
};
