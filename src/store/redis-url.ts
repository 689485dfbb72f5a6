// The three Redis store specs (contract §1 and §4):
//   redis://…  rediss://…                                         one server (node-redis URL)
//   redis-sentinel://[user:password@]host:port[,host:port…]/<masterName>[/<db>]
//   redis-cluster://[user:password@]host:port[,host:port…]
// node-redis parses the first form itself; the other two list several hosts, which URL cannot
// hold, so they are parsed here.

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface RedisCredentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { topology: 'single'; url: string }
  | ({ topology: 'sentinel'; sentinels: RedisNodeAddress[]; masterName: string; database: number } & RedisCredentials)
  | ({ topology: 'cluster'; nodes: RedisNodeAddress[] } & RedisCredentials);

export class RedisSpecError extends Error {
  override readonly name = 'RedisSpecError';
}

export function isRedisSpec(spec: string): boolean {
  return /^(rediss?|redis-sentinel|redis-cluster):\/\//.test(spec);
}

/** Throws RedisSpecError, whose message never contains the password. */
export function parseRedisSpec(spec: string): RedisTarget {
  if (/^rediss?:\/\//.test(spec)) return { topology: 'single', url: spec };
  const m = /^(redis-sentinel|redis-cluster):\/\/(.*)$/s.exec(spec);
  if (!m) throw new RedisSpecError('expected redis://, rediss://, redis-sentinel:// or redis-cluster://');
  const scheme = m[1]!;
  let rest = m[2]!;
  const credentials: RedisCredentials = {};
  // the last "@" ends the credentials: a password may itself contain "@"
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userInfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userInfo.indexOf(':');
    const user = decode(colon >= 0 ? userInfo.slice(0, colon) : userInfo, 'user name');
    const password = colon >= 0 ? decode(userInfo.slice(colon + 1), 'password') : '';
    if (user) credentials.username = user;
    if (password) credentials.password = password;
  }
  const slash = rest.indexOf('/');
  const hostList = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : '';
  const nodes = hostList.split(',').map(parseHostPort);
  if (scheme === 'redis-cluster') {
    if (path.replace(/\/$/, '') !== '') throw new RedisSpecError('redis-cluster:// takes no path (a cluster has only database 0)');
    return { topology: 'cluster', nodes, ...credentials };
  }
  const [masterName, db, ...extra] = path.replace(/\/$/, '').split('/');
  if (!masterName) throw new RedisSpecError('redis-sentinel:// needs the master name: redis-sentinel://host:port,…/<masterName>[/<db>]');
  if (extra.length) throw new RedisSpecError('redis-sentinel:// path is /<masterName>[/<db>]');
  let database = 0;
  if (db !== undefined) {
    if (!/^\d{1,5}$/.test(db)) throw new RedisSpecError(`database "${db.slice(0, 16)}" is not a number`);
    database = Number(db);
  }
  return { topology: 'sentinel', sentinels: nodes, masterName: decode(masterName, 'master name'), database, ...credentials };
}

function parseHostPort(s: string): RedisNodeAddress {
  // host:port, or [v6]:port
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(s);
  if (!m) throw new RedisSpecError(`"${s.slice(0, 64)}" is not host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RedisSpecError(`port ${port} is out of range`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RedisSpecError(`the ${what} is not valid percent-encoding`);
  }
}
