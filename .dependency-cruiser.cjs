// `npm run lint:deps`: the import rules of src/. Data flows one way, and so do imports:
//   index.ts, app.ts (wiring)
//   -> groups/, ops/ (route families)
//   -> prewarm/ (demand counts, the pre-warm cron, the page service's wiring)
//   -> http/ (HTTP concerns), partners/ (keys, limits), config.ts
//   -> pages/ (the page cache, as a Hono-free service)
//   -> upstream/ (the Admin API client and its shapes)
//   -> errors.ts, error-catalogue.ts, log.ts, encoding.ts (leaves)
// Type-only imports count too: a type lives with the concept it describes.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'leaves-import-nothing',
      severity: 'error',
      comment: 'errors.ts, error-catalogue.ts, log.ts and encoding.ts sit below everything else.',
      from: { path: '^src/(errors|error-catalogue|log|encoding)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(errors|error-catalogue|log|encoding)\\.ts$' },
    },
    {
      name: 'upstream-is-the-bottom',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: {
        path: '^src/',
        pathNot: '^src/(upstream/|errors\\.ts$|error-catalogue\\.ts$|log\\.ts$|encoding\\.ts$)',
      },
    },
    {
      name: 'pages-see-only-upstream',
      severity: 'error',
      comment: 'The page cache is a service: no HTTP layer, no partners, no config parsing.',
      from: { path: '^src/pages/' },
      to: {
        path: '^src/',
        pathNot:
          '^src/(pages/|upstream/|errors\\.ts$|error-catalogue\\.ts$|log\\.ts$|encoding\\.ts$)',
      },
    },
    {
      name: 'pages-never-see-hono',
      severity: 'error',
      comment: "The cache never sees Hono's Context: it imports nothing from Hono.",
      from: { path: '^src/pages/' },
      to: { path: '(^|/)node_modules/(hono|@hono)/' },
    },
    {
      name: 'partners-and-http-stay-below-routes',
      severity: 'error',
      from: { path: '^src/(partners|http)/|^src/config\\.ts$' },
      to: { path: '^src/(groups|ops|prewarm)/|^src/(app|index)\\.ts$' },
    },
    {
      name: 'partners-and-http-are-independent',
      severity: 'error',
      comment: 'Each uses its own folder and the layers below, not the other.',
      from: { path: '^src/(partners|http)/' },
      to: { path: '^src/(partners|http)/', pathNot: '^src/$1/' },
    },
    {
      name: 'route-families-stay-apart',
      severity: 'error',
      comment: 'groups/ and ops/ do not import each other, nor the wiring above them.',
      from: { path: '^src/(groups|ops)/' },
      to: { path: '^src/(app|index)\\.ts$' },
    },
    {
      name: 'prewarm-below-routes',
      severity: 'error',
      comment: 'Pre-warm serves the route families and the cron, and sees only what is below it.',
      from: { path: '^src/prewarm/' },
      to: { path: '^src/(groups|ops|http|partners)/|^src/(app|index)\\.ts$' },
    },
    {
      name: 'groups-not-ops',
      severity: 'error',
      from: { path: '^src/groups/' },
      to: { path: '^src/ops/' },
    },
    {
      name: 'ops-not-groups',
      severity: 'error',
      from: { path: '^src/ops/' },
      to: { path: '^src/groups/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'default'] },
  },
}
