// The house's dependency rules (npm run deps, run by .ci/run). Production code only; type-only
// imports count. Floors, top to bottom — a module imports only from floors below its own:
//
//   0  src/index.ts, src/app.ts             the Worker and the Hono app
//   1  src/routes/, src/edge/               the two HTTP faces (never each other)
//   2  durable-objects/, src/delivery/      the enrollment objects and the consumers (never each other)
//   3  src/domain/                          the verbs they share
//   4  src/providers/                       one module per email provider
//   5  src/http/                            errors, auth, idempotency, pagination
//   6  src/db/                              the schema and every query
//   7  src/security/                        credentials, SSRF policy, tokens, encoding
//   8  src/ground/                          ids, queue messages, log, retry, env, metrics, object contracts
//   9  src/engine/                          pure workflow logic; imports nothing of ours
//
// There is no import circle, between files or between folders.
const FLOORS = [
  ["^src/(index|app)\\.ts$"],
  ["^src/routes/", "^src/edge/"],
  ["^durable-objects/", "^src/delivery/"],
  ["^src/domain/"],
  ["^src/providers/"],
  ["^src/http/"],
  ["^src/db/"],
  ["^src/security/"],
  ["^src/ground/", "^src/types/"],
  ["^src/engine/"],
];

const any = (paths) => `(${paths.join("|")})`;

const upward = FLOORS.slice(1).map((floor, i) => ({
  name: `floor-${i + 1}-imports-upward`,
  comment: `${floor.join(", ")} may import only from floors below it`,
  severity: "error",
  from: { path: any(floor) },
  to: { path: any(FLOORS.slice(0, i + 1).flat()) },
}));

/** Two rooms on one floor never import each other. */
const siblings = FLOORS.filter((floor) => floor.length > 1).flatMap((floor) =>
  floor.flatMap((a) =>
    floor
      .filter((b) => b !== a)
      .map((b) => ({
        name: `sibling-${a.replace(/\W+/g, "-")}-to-${b.replace(/\W+/g, "-")}`,
        comment: `${a} and ${b} are on one floor: neither imports the other`,
        severity: "error",
        from: { path: a },
        to: { path: b },
      })),
  ),
);

module.exports = {
  forbidden: [
    { name: "no-circular-files", comment: "No import circle between files", severity: "error", from: {}, to: { circular: true } },
    { name: "no-circular-folders", comment: "No import circle between folders", severity: "error", scope: "folder", from: {}, to: { circular: true } },
    {
      name: "everything-is-on-a-floor",
      comment: "Every production module belongs to a floor of the house",
      severity: "error",
      from: { path: "^(src|durable-objects)/", pathNot: any(FLOORS.flat()) },
      to: { dependencyTypesNot: ["core"] },
    },
    ...upward,
    ...siblings,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(test|scripts|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: false,
  },
};
