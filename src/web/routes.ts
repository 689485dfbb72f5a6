// Every path the gateway answers itself, declared once. Proxy mode hands everything else to the
// app (isGatewayPath), and test/web/routes.test.ts walks the express app and fails when it serves
// a route that is not declared here, or when a declared one would be proxied: a new route cannot
// silently be sent to the app.

export type RouteOwner = 'ops' | 'marketplace' | 'delivery' | 'login' | 'oidc' | 'admin';

export interface GatewayRoute {
  owner: RouteOwner;
  /** HTTP methods; '*' for every method */
  methods: readonly string[];
  /** the path as mounted (the sync routes under the configured sync prefix) */
  path: string;
  /**
   * how a request path is matched against `path`:
   * * route: the path, or the path with one trailing slash (express's non-strict routing)
   * * exact: the path only
   * * tree: the path and everything below it
   * * under: everything starting with `path`, which ends in "/" (a namespace the gateway keeps)
   */
  match: 'route' | 'exact' | 'tree' | 'under';
  /** mounted only when the operator console is on */
  console?: true;
  /**
   * the app's in proxy mode: a page the gateway shows only when no app is configured, while
   * proxy mode always has one (whose own page of that name it must not shadow)
   */
  appInProxyMode?: true;
}

export interface RouteOptions {
  /** BRIDGE_SYNC_PATH_PREFIX, without a trailing slash ('' for none) */
  syncPrefix: string;
  /** the operator console is on: /admin is the gateway's */
  consoleOn: boolean;
}

const ALL = ['*'] as const;
const GET = ['GET'] as const;

/** the gateway's routes for these settings */
export function gatewayRoutes(o: RouteOptions): GatewayRoute[] {
  const routes: GatewayRoute[] = [
    { owner: 'ops', methods: GET, path: '/healthz', match: 'route' },
    { owner: 'ops', methods: GET, path: '/readyz', match: 'route' },
    { owner: 'ops', methods: GET, path: '/metrics', match: 'route' },
    // every kind, and the refusals of unknown kinds and methods (src/marketplace/sync-router.ts)
    { owner: 'marketplace', methods: ALL, path: `${o.syncPrefix}/produceAPI/`, match: 'under' },
    { owner: 'delivery', methods: GET, path: '/.well-known/jwks.json', match: 'exact' },
    // forward-auth, the Envoy /auth/verify/<path> form, /auth/session: the whole /auth/ namespace
    { owner: 'delivery', methods: ALL, path: '/auth/', match: 'under' },
    { owner: 'login', methods: ['GET', 'POST'], path: '/login', match: 'route' },
    { owner: 'login', methods: GET, path: '/oauth/callback', match: 'route' },
    // GET: the sign-in's callback; POST: CAS single logout
    { owner: 'login', methods: ['GET', 'POST'], path: '/cas/callback', match: 'route' },
    { owner: 'login', methods: ['GET', 'POST'], path: '/logout', match: 'route' },
    { owner: 'login', methods: GET, path: '/signed-out', match: 'route' },
    { owner: 'login', methods: GET, path: '/signed-in', match: 'route', appInProxyMode: true },
    // oidc-provider answers everything below /oidc; the interaction pages are the gateway's own
    { owner: 'oidc', methods: ALL, path: '/oidc', match: 'tree' },
  ];
  if (o.consoleOn) routes.push({ owner: 'admin', methods: ALL, path: '/admin', match: 'tree', console: true });
  return routes;
}

/** whether `path` (a request's path, without the query) falls under `route` */
export function routeMatches(route: GatewayRoute, path: string): boolean {
  switch (route.match) {
    case 'route':
      return path === route.path || path === `${route.path}/`;
    case 'exact':
      return path === route.path;
    case 'tree':
      return path === route.path || path.startsWith(`${route.path}/`);
    case 'under':
      return path.startsWith(route.path);
  }
}

/** paths the gateway answers itself in proxy mode; everything else belongs to the app */
export function gatewayPathMatcher(o: RouteOptions): (path: string) => boolean {
  const own = gatewayRoutes(o).filter((r) => !r.appInProxyMode);
  return (path) => own.some((r) => routeMatches(r, path));
}
