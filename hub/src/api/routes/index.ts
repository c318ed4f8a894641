/** Every route of the admin API, in the order the OpenAPI document lists them. */
import type { ApiDeps } from '../deps.js';
import { buildOpenApi } from '../openapi.js';
import type { Route } from '../route.js';
import { browserRoutes } from './browser.js';
import { classifyRoutes } from './classify.js';
import { datasetRoutes } from './datasets.js';
import { deviceRoutes } from './devices.js';
import { labellingRoutes } from './labelling.js';
import { registryRoutes } from './registry.js';
import { releaseRoutes } from './releases.js';
import { sampleRoutes } from './samples.js';
import { systemRoutes } from './system.js';
import { triggerRoutes } from './triggers.js';

export const API_INFO = {
  title: 'edgeloop hub API',
  version: '0.1.0',
  description:
    'Admin API of the edgeloop hub: devices, samples, labelling, datasets and /classify. Admin routes take `Authorization: Bearer <token>`; errors are JSON with a stable `code`.',
};

/** The routes over `deps`; `/openapi.json` describes exactly this list. */
export function apiRoutes(deps: ApiDeps): Route[] {
  const routes: Route[] = [];
  let document: ReturnType<typeof buildOpenApi> | undefined;
  routes.push(
    ...systemRoutes(deps, () => {
      document ??= buildOpenApi(routes, API_INFO);
      return document;
    }),
    ...deviceRoutes(deps),
    ...sampleRoutes(deps),
    ...labellingRoutes(deps),
    ...datasetRoutes(deps),
    ...classifyRoutes(deps),
    ...registryRoutes(deps),
    ...releaseRoutes(deps),
    ...triggerRoutes(deps),
    ...browserRoutes(deps),
    ...(deps.training?.routes() ?? []),
  );
  return routes;
}
